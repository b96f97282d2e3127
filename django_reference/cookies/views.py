"""The cookies topic (CONTRACT.md, "Cookies"): each op is one Django call.

Each op reader checks an op against the contract (ContractError -> 400) and
returns the Django call to make. A view reads every op before making any call,
so a contract error is never hidden behind a 500 from an earlier op. Whatever
Django raises escapes the view, so Django serves its own 500 page.
"""
from django.core import signing
from django.http import JsonResponse
from django.utils.crypto import salted_hmac

from contract.body import MISSING, arg, check_keys, duration, expires, json_body, kwargs, objects, read_ops
from contract.errors import ContractError, contract_view

# --- POST /cookies/set -------------------------------------------------------

COOKIE_ARGS = ("key", "value", "max_age", "expires", "path", "domain", "secure", "httponly", "samesite")


def _cookie_kwargs(op):
    """set_cookie's keyword arguments (all but key and value) present in `op`."""
    return kwargs(
        max_age=duration(op, "max_age"),
        expires=expires(op, "expires"),
        path=arg(op, "path", "string or null"),
        domain=arg(op, "domain", "string or null"),
        secure=arg(op, "secure", "boolean"),
        httponly=arg(op, "httponly", "boolean"),
        samesite=arg(op, "samesite", "string or null"),
    )


def _set_cookie(op):
    check_keys(op, ("op", *COOKIE_ARGS))
    key = arg(op, "key", "string", required=True)
    options = kwargs(value=arg(op, "value", "string or integer"), **_cookie_kwargs(op))
    return lambda response: response.set_cookie(key, **options)


def _set_signed_cookie(op):
    check_keys(op, ("op", *COOKIE_ARGS, "salt"))
    key = arg(op, "key", "string", required=True)
    value = arg(op, "value", "string or integer", required=True)
    options = kwargs(salt=arg(op, "salt", "string"), **_cookie_kwargs(op))
    return lambda response: response.set_signed_cookie(key, value, **options)


def _delete_cookie(op):
    check_keys(op, ("op", "key", "path", "domain", "samesite"))
    key = arg(op, "key", "string", required=True)
    options = kwargs(
        path=arg(op, "path", "string or null"),
        domain=arg(op, "domain", "string or null"),
        samesite=arg(op, "samesite", "string or null"),
    )
    return lambda response: response.delete_cookie(key, **options)


COOKIE_OPS = {
    "set_cookie": _set_cookie,
    "set_signed_cookie": _set_signed_cookie,
    "delete_cookie": _delete_cookie,
}


@contract_view
def set_cookies(request):
    calls = read_ops(request, COOKIE_OPS)
    response = JsonResponse({"applied": len(calls)})
    for call in calls:
        call(response)
    return response


# --- GET|POST /cookies/read --------------------------------------------------


def _signed_lookup(request, lookup):
    check_keys(lookup, ("key", "salt", "max_age", "default"))
    key = arg(lookup, "key", "string", required=True)
    options = kwargs(
        # Absent: get_signed_cookie's own default, which means "raise".
        default=lookup.get("default", MISSING),
        salt=arg(lookup, "salt", "string"),
        max_age=duration(lookup, "max_age"),
    )
    return lambda: request.get_signed_cookie(key, **options)


@contract_view
def read_cookies(request):
    lookups = json_body(request, allowed=("signed",)).get("signed", [])
    calls = []
    for index, lookup in enumerate(objects(lookups, "signed")):
        try:
            calls.append(_signed_lookup(request, lookup))
        except ContractError as error:
            raise ContractError(f"signed[{index}]: {error}")
    return JsonResponse(
        {
            # WSGI gives header values latin-1 decoded; this is that string.
            "cookie_header": request.META.get("HTTP_COOKIE"),
            "cookies": request.COOKIES,
            "signed": [call() for call in calls],
        }
    )


# --- POST /cookies/signing ---------------------------------------------------

SIGNER_ARGS = ("signer", "key", "salt", "sep", "algorithm", "fallback_keys")


def _signer(op):
    """The signer an op names, built with the arguments it gives."""
    """The signer an op names, as a function building it from the op's arguments."""
    kind = _signer_kind(op)
    if kind == "cookie":
        for name in ("key", "sep", "algorithm", "fallback_keys"):
            if name in op:
                raise ContractError(f"argument {name!r} is not allowed with signer 'cookie'")
        # Exactly the signer set_signed_cookie and get_signed_cookie use.
        options = kwargs(salt=arg(op, "salt", "string"))
        return lambda: signing.get_cookie_signer(**options)
    signer_class = {"signer": signing.Signer, "timestamp": signing.TimestampSigner}[kind]
    options = kwargs(
        key=arg(op, "key", "string"),
        salt=arg(op, "salt", "string"),
        sep=arg(op, "sep", "string"),
        algorithm=arg(op, "algorithm", "string"),
        fallback_keys=arg(op, "fallback_keys", "list of strings"),
    )
    return lambda: signer_class(**options)


def _signer_kind(op):
    kind = arg(op, "signer", "string")
    if kind is MISSING:
        return "signer"
    if kind not in ("signer", "timestamp", "cookie"):
        raise ContractError(f"unknown signer {kind!r}")
    return kind


def _sign(op):
    check_keys(op, ("op", "value", *SIGNER_ARGS))
    value = arg(op, "value", "string", required=True)
    signer = _signer(op)
    return lambda: signer().sign(value)


def _unsign(op):
    check_keys(op, ("op", "value", "max_age", *SIGNER_ARGS))
    value = arg(op, "value", "string", required=True)
    options = kwargs(max_age=duration(op, "max_age"))
    if options and _signer_kind(op) == "signer":
        raise ContractError("argument 'max_age' needs signer 'timestamp' or 'cookie'")
    signer = _signer(op)
    return lambda: signer().unsign(value, **options)


def _dumps(op):
    check_keys(op, ("op", "obj", "key", "salt", "compress"))
    obj = arg(op, "obj", "any JSON", required=True)
    options = kwargs(
        key=arg(op, "key", "string"),
        salt=arg(op, "salt", "string"),
        compress=arg(op, "compress", "boolean"),
    )
    return lambda: signing.dumps(obj, **options)


def _loads(op):
    check_keys(op, ("op", "value", "key", "salt", "max_age", "fallback_keys"))
    value = arg(op, "value", "string", required=True)
    options = kwargs(
        key=arg(op, "key", "string"),
        salt=arg(op, "salt", "string"),
        max_age=duration(op, "max_age"),
        fallback_keys=arg(op, "fallback_keys", "list of strings"),
    )
    return lambda: signing.loads(value, **options)


def _salted_hmac(op):
    check_keys(op, ("op", "key_salt", "value", "secret", "algorithm"))
    key_salt = arg(op, "key_salt", "string", required=True)
    value = arg(op, "value", "string", required=True)
    options = kwargs(secret=arg(op, "secret", "string"), algorithm=arg(op, "algorithm", "string"))
    return lambda: salted_hmac(key_salt, value, **options).hexdigest()


SIGNING_OPS = {
    "sign": _sign,
    "unsign": _unsign,
    "dumps": _dumps,
    "loads": _loads,
    "salted_hmac": _salted_hmac,
}


def _result(call):
    try:
        return {"value": call()}
    except signing.SignatureExpired:  # a BadSignature subclass: test it first
        return {"error": "SignatureExpired"}
    except signing.BadSignature:
        return {"error": "BadSignature"}


@contract_view
def signing_ops(request):
    calls = read_ops(request, SIGNING_OPS)
    return JsonResponse({"results": [_result(call) for call in calls]})
