"""The contract's own endpoint: GET /__djc__/health."""
import platform

import django
from django.conf import settings
from django.http import JsonResponse

from .errors import contract_view


@contract_view
def health(request):
    return JsonResponse(
        {
            "implementation": "django",
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "settings": {name: getattr(settings, name) for name in settings.PROFILE},
        }
    )
