"""ASGI entry point: `python -m uvicorn conformance.asgi:application` (see uvicorn_run.py)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conformance.settings")

application = get_asgi_application()
