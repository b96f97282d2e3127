"""The contract's own endpoint: GET /__djc__/health."""
import platform

import django
from django.conf import settings
from .errors import contract_view, json_response


@contract_view
def health(request):
    return json_response(
        {
            "implementation": "django",
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "settings": {name: getattr(settings, name) for name in settings.PROFILE},
        }
    )
