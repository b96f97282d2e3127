"""The contract's clock middleware: the outermost one (settings.MIDDLEWARE)."""
import re

from . import clock
from .errors import ContractError

# Unix seconds: an integer or a decimal.
CLOCK_RE = re.compile(r"[0-9]+(\.[0-9]+)?")


class VirtualClockMiddleware:
    """Serve the request at the instant in X-Djc-Clock (real clock without it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("X-Djc-Clock")
        if header is None:
            return self.get_response(request)
        if not CLOCK_RE.fullmatch(header):
            # No view ran, so no middleware added its headers; the harness
            # only needs the 400 and X-Djc-Contract-Error.
            response = ContractError(f"X-Djc-Clock: not Unix seconds: {header!r}").response()
            response["Content-Length"] = len(response.content)
            return response
        token = clock.set_instant(float(header))
        try:
            return self.get_response(request)
        finally:
            clock.reset(token)
