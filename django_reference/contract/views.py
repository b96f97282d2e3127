"""The contract's own endpoint: GET /__djc__/health."""
import platform
import sys

import django
from django.conf import settings
from .errors import contract_view, json_response


@contract_view
def health(request):
    return json_response(
        {
            "implementation": "django",
            "django_version": django.get_version(),
            "server": _server(request),
            "python_version": platform.python_version(),
            "settings": {name: getattr(settings, name) for name in settings.PROFILE},
        }
    )


def _server(request):
    """The server in front of Django: WSGI servers name themselves in SERVER_SOFTWARE
    (`gunicorn/27.0.1`); under ASGI the scope does not say, but the process does."""
    software = request.META.get("SERVER_SOFTWARE")
    if software:
        return software.split("/")[0]
    return "uvicorn" if "uvicorn" in sys.modules else "unknown"
