"""Exits 0 when this Python behaves as the one the golden snapshots were recorded with.

Django's cookie output depends on the Python beneath it: CPython's 2025 security fix makes
http.cookies refuse control characters (Django then answers 500), while a Python without it
escapes them quietly. djc runs this script with each candidate interpreter before it builds a
venv, and passes over one that fails, printing why.
"""

import platform
import sys
from http.cookies import CookieError, SimpleCookie


def refuses_control_characters():
    try:
        SimpleCookie()["a"] = "a\x00b"
    except CookieError:
        return True
    return False


def main():
    if not refuses_control_characters():
        print(
            f"Python {platform.python_version()} lacks CPython's fix that refuses control "
            "characters in cookies (2025 security releases; Debian's python3.11 "
            "3.11.2-6+deb12u8 or later)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
