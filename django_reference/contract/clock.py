"""The virtual clock (CONTRACT.md, header X-Djc-Clock).

While a request carries the header, every clock read Django makes for it sees
that instant. The instant lives in a ContextVar, so it is per request even
with gunicorn's threaded worker (each thread has its own context).

Django reads the clock through the `time` and `datetime` names of its own
modules (`time.time()`, `datetime.datetime.now(tz=...)`). install() rebinds
those names, in the modules listed in PATCHED, to proxies that answer from
the ContextVar and fall back to the real clock; the real modules are left
alone, so nothing else in the process (gunicorn included) is affected.
"""
import datetime as real_datetime
import importlib
import time as real_time
from contextvars import ContextVar

_instant = ContextVar("djc_clock", default=None)  # Unix seconds, or None: real clock


def now():
    """Unix seconds: the request's virtual instant, else the real clock."""
    instant = _instant.get()
    return real_time.time() if instant is None else instant


def set_instant(instant):
    """Use `instant` (or the real clock if None) in this context; returns a reset token."""
    return _instant.set(instant)


def reset(token):
    _instant.reset(token)


class _Proxy:
    """Stands in for a module: our attributes first, then the real module's."""

    def __init__(self, real, **overrides):
        self._real = real
        self.__dict__.update(overrides)

    def __getattr__(self, name):  # only called for names not set above
        return getattr(self._real, name)


class _AnyDatetime(type):
    # isinstance(x, datetime.datetime) in the patched modules must still
    # accept every real datetime, not only instances of the subclass below.
    def __instancecheck__(cls, obj):
        return isinstance(obj, real_datetime.datetime)


class VirtualDatetime(real_datetime.datetime, metaclass=_AnyDatetime):
    """datetime.datetime whose now() reads the virtual clock."""

    @classmethod
    def now(cls, tz=None):
        # datetime.now(tz) is fromtimestamp(time.time(), tz); keep the real type.
        return real_datetime.datetime.fromtimestamp(now(), tz)


time_proxy = _Proxy(real_time, time=now)
datetime_proxy = _Proxy(real_datetime, datetime=VirtualDatetime)

# Module -> names to rebind. django.core.signing: TimestampSigner timestamps and
# age checks. django.http.response: set_cookie's expires (from max_age, and
# max_age from a datetime expires). Later topics add their modules here.
PATCHED = {
    "django.core.signing": {"time": time_proxy},
    "django.http.response": {"time": time_proxy, "datetime": datetime_proxy},
}


def install():
    """Rebind the clock names of the PATCHED modules (idempotent)."""
    for module_name, names in PATCHED.items():
        module = importlib.import_module(module_name)
        for name, proxy in names.items():
            current = getattr(module, name)
            # Fail loudly if a Django upgrade changed how the module imports it.
            if current is not proxy._real and current is not proxy:
                raise RuntimeError(f"{module_name}.{name} is not the {name} module")
            setattr(module, name, proxy)
