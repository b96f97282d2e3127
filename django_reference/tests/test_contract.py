"""The reference app against CONTRACT.md, called through its WSGI application.

Run from anywhere with the app's venv:

    python django_reference/tests/test_contract.py

Requests go through conformance.wsgi.application exactly as gunicorn calls it
(same middleware, same header list); only the server's own framing is absent.
"""
import io
import json
import logging
import os
import platform
import sys
import threading
import time
import unittest
from pathlib import Path
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("DJC_SETTINGS", None)  # the default profile
os.environ["DJANGO_SETTINGS_MODULE"] = "conformance.settings"

from django.core import signing  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from conformance import settings as project_settings  # noqa: E402
from conformance.wsgi import application  # noqa: E402
from contract import clock  # noqa: E402

# The 500 cases are expected; keep their tracebacks off the test output.
logging.getLogger("django.request").setLevel(logging.CRITICAL)

CLOCK = "1700000000"  # Tue, 14 Nov 2023 22:13:20 GMT; b62 "1r31eq"
SIGNED_C = "hello:1r31eq:ibGXs9hYGUvdzes8OUPYia_OxcCfU-hW5C_VDi5ERj8"  # set_signed_cookie("c", "hello")
SERVER_ERROR = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
    b"</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


def call(path, body=None, method="POST", headers=None, clock_at=CLOCK):
    """One request through the WSGI app: (status, [(name, value)], body bytes)."""
    data = b"" if body is None else json.dumps(body).encode() if not isinstance(body, bytes) else body
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "SERVER_SOFTWARE": "gunicorn/27.0.1",  # as gunicorn names itself
    }
    if clock_at is not None:
        environ["HTTP_X_DJC_CLOCK"] = clock_at
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, header_list, exc_info=None):
        started.update(status=status, headers=header_list)

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()
    return started["status"], started["headers"], content


def set_cookies(headers):
    # Django 5.2 gives WSGI servers " name=value..." (gunicorn strips the space).
    return [value.lstrip(" ") for name, value in headers if name == "Set-Cookie"]


class ClockTests(unittest.TestCase):
    def test_the_header_sets_every_clock_read(self):
        status, headers, body = call(
            "/cookies/set",
            {"ops": [{"op": "set_cookie", "key": "a", "value": "b", "max_age": 10}]},
            clock_at="1700000000.9",
        )
        self.assertEqual(
            set_cookies(headers), ["a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/"]
        )

    def test_without_the_header_the_real_clock_is_used(self):
        before = int(time.time())
        status, headers, body = call(
            "/cookies/signing", {"ops": [{"op": "sign", "value": "v", "signer": "timestamp"}]}, clock_at=None
        )
        stamp = json.loads(body)["results"][0]["value"].split(":")[1]
        self.assertIn(b62_decode(stamp), range(before, int(time.time()) + 1))

    def test_the_instant_does_not_outlive_the_request(self):
        call("/__djc__/health", method="GET")
        self.assertIsNone(clock._instant.get())
        self.assertAlmostEqual(clock.now(), time.time(), delta=5)

    def test_concurrent_requests_each_see_their_own_instant(self):
        # Every request waits at a barrier at its clock read, so all of them
        # are in flight, with their instants set, when the clock is read.
        threads = 8
        barrier = threading.Barrier(threads, timeout=10)
        real_time = clock.time_proxy.time

        def meeting_time():
            barrier.wait()
            return real_time()

        results = {}

        def sign_at(instant):
            op = {"op": "sign", "value": "v", "signer": "timestamp"}
            _, _, body = call("/cookies/signing", {"ops": [op]}, clock_at=str(instant))
            results[instant] = json.loads(body)["results"][0]["value"].split(":")[1]

        clock.time_proxy.time = meeting_time
        try:
            instants = [1700000000 + 1000 * i for i in range(threads)]
            workers = [threading.Thread(target=sign_at, args=(t,)) for t in instants]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            clock.time_proxy.time = real_time
        self.assertEqual({t: b62_decode(s) for t, s in results.items()}, {t: t for t in instants})

    def test_a_malformed_clock_is_a_contract_error(self):
        status, headers, body = call("/__djc__/health", method="GET", clock_at="17e8")
        self.assertEqual(status, "400 Bad Request")
        self.assertEqual(dict(headers)["X-Djc-Contract-Error"], "X-Djc-Clock: not Unix seconds: '17e8'")


class ContractErrorTests(unittest.TestCase):
    def assertContractError(self, body, message, path="/cookies/set"):
        status, headers, content = call(path, body)
        self.assertEqual(status, "400 Bad Request")
        self.assertEqual(dict(headers)["X-Djc-Contract-Error"], message)
        self.assertEqual(json.loads(content), {"contract_error": message})

    def test_each_kind(self):
        self.assertContractError(b"{", "the body is not JSON")
        self.assertContractError([], "the body is not a JSON object")
        self.assertContractError({}, "missing argument 'ops'")
        self.assertContractError({"ops": [{"op": "frob"}]}, "ops[0]: unknown op 'frob'")
        self.assertContractError({"ops": [{"op": "set_cookie"}]}, "ops[0]: set_cookie: missing argument 'key'")
        self.assertContractError(
            {"ops": [{"op": "set_cookie", "key": "a", "secure": 1}]},
            "ops[0]: set_cookie: argument 'secure' must be a boolean",
        )
        self.assertContractError(
            {"ops": [{"op": "set_cookie", "key": "a", "max_ag": 1}]}, "ops[0]: set_cookie: unknown argument 'max_ag'"
        )

    def test_checked_before_any_django_call(self):
        # The illegal key alone would be a 500; the later bad op wins.
        self.assertContractError(
            {"ops": [{"op": "set_cookie", "key": "a b"}, {"op": "set_cookie"}]},
            "ops[1]: set_cookie: missing argument 'key'",
        )

    def test_messages_are_ascii(self):
        self.assertContractError({"ops": [{"op": "\u20ac"}]}, "ops[0]: unknown op '\\u20ac'")

    def test_text_beyond_latin1_is_not_bytes(self):
        self.assertContractError(
            {"ops": [{"op": "sign", "value": {"bytes": "\u0100"}}]},
            "ops[0]: sign: argument 'value' must be a string, {\"bytes\": string}, number, boolean or null",
            path="/cookies/signing",
        )


class EndpointTests(unittest.TestCase):
    def test_health(self):
        status, headers, body = call("/__djc__/health", method="GET")
        self.assertEqual(status, "200 OK")
        self.assertEqual(
            body,
            b'{"implementation": "django", "django_version": "5.2.19", "server": "gunicorn", '
            + f'"python_version": "{platform.python_version()}", '.encode()
            + b'"settings": {"SECRET_KEY": "test-secret-key-for-catalog", "SECRET_KEY_FALLBACKS": [], '
            b'"SIGNED_COOKIE_LEGACY_SALT_FALLBACK": true}}',
        )

    def test_cookies_set_headers_in_contract_order(self):
        ops = [
            {"op": "set_signed_cookie", "key": "c", "value": "hello"},
            {"op": "set_cookie", "key": "a", "value": "a;b", "expires": {"datetime": "2023-11-14T22:15:00"}},
            {"op": "delete_cookie", "key": "d", "samesite": "None"},
        ]
        status, headers, body = call("/cookies/set", {"ops": ops})
        self.assertEqual(status, "200 OK")
        self.assertEqual(body, b'{"applied": 3}')
        self.assertEqual(
            [name for name, _ in headers],
            ["Content-Type", "X-Frame-Options", "Content-Length", "X-Content-Type-Options",
             "Referrer-Policy", "Cross-Origin-Opener-Policy", "Set-Cookie", "Set-Cookie", "Set-Cookie"],
        )
        self.assertEqual(
            set_cookies(headers),
            [
                "c=" + SIGNED_C + "; Path=/",
                # A datetime 100 s ahead: Django adds 1 s, so Max-Age=101 at a frozen clock.
                'a="a\\073b"; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/',
                'd=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=None; Secure',
            ],
        )

    def test_an_exception_from_django_is_its_500_page(self):
        status, headers, body = call("/cookies/set", {"ops": [{"op": "set_cookie", "key": "a", "samesite": "Bogus"}]})
        self.assertEqual((status, body), ("500 Internal Server Error", SERVER_ERROR))

    def test_unknown_path_is_the_404_page(self):
        status, headers, body = call("/nope", method="GET")
        self.assertEqual(status, "404 Not Found")
        self.assertEqual(len(body), 179)
        self.assertIn(b"The requested resource was not found on this server.", body)

    def test_cookies_read(self):
        lookups = [
            {"key": "c"},
            {"key": "c", "max_age": 99, "default": None},  # read 100 s later: expired
            {"key": "missing", "default": {"x": 1}},
        ]
        status, headers, body = call(
            "/cookies/read", {"signed": lookups}, headers={"Cookie": f'a="b\\073c"; c={SIGNED_C}'},
            clock_at="1700000100",
        )
        self.assertEqual(
            json.loads(body),
            {
                "cookie_header": f'a="b\\073c"; c={SIGNED_C}',
                "cookies": {"a": "b;c", "c": SIGNED_C},
                "signed": ["hello", None, {"x": 1}],
            },
        )
        status, headers, body = call("/cookies/read", {"signed": [{"key": "missing"}]})
        self.assertEqual((status, body), ("500 Internal Server Error", SERVER_ERROR))
        status, headers, body = call("/cookies/read", method="GET")
        self.assertEqual(body, b'{"cookie_header": null, "cookies": {}, "signed": []}')

    def test_cookies_signing(self):
        ops = [
            {"op": "sign", "value": "hello"},
            {"op": "sign", "value": "hello", "signer": "cookie", "salt": "django.http.cookies.v2:0:c"},
            {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": "django.http.cookies.v2:0:c"},
            {"op": "unsign", "value": SIGNED_C, "signer": "timestamp"},
            {"op": "unsign", "value": SIGNED_C, "signer": "cookie", "salt": "django.http.cookies.v2:0:c",
             "max_age": {"timedelta": -1}},
            {"op": "dumps", "obj": "hello"},
            {"op": "loads", "value": "ImhlbGxvIg:1r31eq:cTruiEBY_cFCV1LlNUq5VL9i_ItdBm0tawTAoxWpNmg"},
            {"op": "salted_hmac", "key_salt": "a", "value": "b"},
        ]
        status, headers, body = call("/cookies/signing", {"ops": ops})
        self.assertEqual(
            json.loads(body)["results"],
            [
                {"value": "hello:ZmU0fXP_Dr2jllPy7kzhsYhOGVqiOFFW3tt0kaBAE_g"},
                {"value": SIGNED_C},
                {"value": "hello"},
                {"error": "BadSignature"},
                {"error": "SignatureExpired"},
                {"value": "ImhlbGxvIg:1r31eq:cTruiEBY_cFCV1LlNUq5VL9i_ItdBm0tawTAoxWpNmg"},
                {"value": "hello"},
                {"value": "cdf7752c7731715fe5b21e7341768e80e2aa12c0"},
            ],
        )

    def test_bytes_in_and_out(self):
        # {"bytes": s} is bytes both ways: each character one byte.
        ops = [
            {"op": "sign", "value": {"bytes": "hello"}},
            {"op": "sign", "value": "foo", "key": {"bytes": "\u00e7"}},
            {"op": "b64_decode", "value": {"bytes": "-_8"}},
            {"op": "sign", "value": 1.5},
        ]
        status, headers, body = call("/cookies/signing", {"ops": ops})
        self.assertEqual(
            json.loads(body)["results"],
            [
                {"value": "b'hello':ZmU0fXP_Dr2jllPy7kzhsYhOGVqiOFFW3tt0kaBAE_g"},
                {"value": "foo:EE4qGC5MEKyQG5msxYA0sBohAxLC0BJf8uRhemh0BGU"},
                {"value": {"bytes": "\u00fb\u00ff"}},
                {"value": "1.5:" + signing.Signer().signature("1.5")},
            ],
        )

class ProfileTests(unittest.TestCase):
    def test_overrides_and_refusals(self):
        profile = project_settings._profile('{"SECRET_KEY_FALLBACKS": ["old"]}')
        self.assertEqual(profile["SECRET_KEY_FALLBACKS"], ["old"])
        self.assertEqual(profile["SECRET_KEY"], "test-secret-key-for-catalog")
        with self.assertRaisesRegex(ImproperlyConfigured, "unsupported settings DEBUG, FOO"):
            project_settings._profile('{"FOO": 1, "DEBUG": true}')
        with self.assertRaisesRegex(ImproperlyConfigured, "SECRET_KEY has the wrong type"):
            project_settings._profile('{"SECRET_KEY": 1}')
        with self.assertRaisesRegex(ImproperlyConfigured, "SECRET_KEY has the wrong type"):
            project_settings._profile('{"SECRET_KEY": {"bytes": "\\u0100"}}')

    def test_bytes_keys(self):
        profile = project_settings._profile(
            '{"SECRET_KEY": {"bytes": "\\u00e7\\u0000"}, "SECRET_KEY_FALLBACKS": [{"bytes": "a"}, "b"]}'
        )
        self.assertEqual(profile["SECRET_KEY"], b"\xe7\x00")
        self.assertEqual(profile["SECRET_KEY_FALLBACKS"], [b"a", "b"])


def b62_decode(text):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = 0
    for char in text:
        number = number * 62 + digits.index(char)
    return number


if __name__ == "__main__":
    unittest.main()
