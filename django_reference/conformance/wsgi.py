"""WSGI entry point: `gunicorn -c gunicorn.conf.py conformance.wsgi`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conformance.settings")

application = get_wsgi_application()
