"""Settings of the reference Django app (see CONTRACT.md, "Settings profiles").

The fixed settings are the contract's. The profile settings take their defaults
below and are overridden by the JSON object in the environment variable
DJC_SETTINGS, read once at start-up, as Django reads settings.
"""
import json
import os

from django.core.exceptions import ImproperlyConfigured

from contract.bytes_form import text

# Left unset, so that Django's own default applies: it differs between versions,
# and on 6.1 setting SIGNED_COOKIE_LEGACY_SALT_FALLBACK at all warns.
DJANGO_DEFAULT = object()

# The settings a profile may override, with their defaults and JSON types.
PROFILE_DEFAULTS = {
    "SECRET_KEY": "test-secret-key-for-catalog",
    "SECRET_KEY_FALLBACKS": [],
    "SIGNED_COOKIE_LEGACY_SALT_FALLBACK": DJANGO_DEFAULT,  # True on 5.2.19, False on 6.1
}


def _key(value):
    """A key as Django takes it: a str, or bytes in the contract's form {"bytes": s}."""
    key = text(value)
    if key is None:
        raise ValueError("not a key")
    return key


def _setting(name, value):
    """The value of setting `name` from its JSON; ValueError if it has the wrong type."""
    if name == "SECRET_KEY":
        return _key(value)
    if name == "SECRET_KEY_FALLBACKS":
        if not isinstance(value, list):
            raise ValueError("not a list")
        return [_key(key) for key in value]
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def _profile(raw):
    """The effective profile settings: the defaults overridden by `raw` (JSON)."""
    try:
        overrides = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DJC_SETTINGS is not JSON: {exc}")
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured("DJC_SETTINGS must be a JSON object")
    unknown = sorted(set(overrides) - set(PROFILE_DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f"DJC_SETTINGS: unsupported settings {', '.join(unknown)} "
            f"(supported: {', '.join(PROFILE_DEFAULTS)})"
        )
    settings = dict(PROFILE_DEFAULTS)
    for name, value in overrides.items():
        try:
            settings[name] = _setting(name, value)
        except ValueError:
            raise ImproperlyConfigured(f"DJC_SETTINGS: {name} has the wrong type")
    return settings


PROFILE = _profile(os.environ.get("DJC_SETTINGS") or "{}")
globals().update({name: value for name, value in PROFILE.items() if value is not DJANGO_DEFAULT})

DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True

# "contract" installs the virtual clock when the app registry is ready.
INSTALLED_APPS = ["contract", "cookies"]

# The contract's clock middleware first (outermost), then Django's startproject
# list in its own order; later topics insert the rest of that list.
MIDDLEWARE = [
    "contract.middleware.VirtualClockMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "conformance.urls"
WSGI_APPLICATION = "conformance.wsgi.application"
ASGI_APPLICATION = "conformance.asgi.application"

# No database and no templates yet: the 404/500 pages are Django's built-in ones.
DATABASES = {}
TEMPLATES = []

# Django logs unhandled exceptions to stderr only with DEBUG on; the harness
# wants them (a 500 it did not expect is easier to read with its traceback).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
