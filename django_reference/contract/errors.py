"""Contract errors: a request the contract does not allow (CONTRACT.md).

Views raise ContractError; the contract_view decorator turns it into the 400
response the harness recognises, so it is reported as a scenario fault and
never compared with the Rust app.
"""
import functools

from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


class ContractError(Exception):
    """The request breaks the contract; the message says how."""

    def __init__(self, message):
        # The message goes into a header too, so it must be ASCII; it may quote
        # text from the request (a key), which is escaped Python-style.
        super().__init__(message.encode("ascii", "backslashreplace").decode("ascii"))

    def response(self):
        message = str(self)
        response = json_response({"contract_error": message}, status=400)
        response["X-Djc-Contract-Error"] = message
        return response


class ContractJSONEncoder(DjangoJSONEncoder):
    """JsonResponse's encoder, with bytes in the contract's one JSON form: {"bytes": s}, each
    byte one character of s."""

    def default(self, o):
        if isinstance(o, bytes):
            return {"bytes": o.decode("latin-1")}
        return super().default(o)


def json_response(data, **kwargs):
    """JsonResponse(data) that writes bytes as {"bytes": ...}."""
    return JsonResponse(data, encoder=ContractJSONEncoder, **kwargs)


def contract_view(view):
    """A contract endpoint: CSRF-exempt, any method, ContractError -> 400."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ContractError as error:
            return error.response()

    return csrf_exempt(wrapper)
