"""gunicorn settings for the harness:

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:0 conformance.wsgi

(run from this folder). Port 0 lets the OS pick a free port; when_ready prints
the one it picked, which is how the harness finds the app.
"""
import sys

# One process, so every request sees the same state, with threads so that
# scenarios can run in parallel (the virtual clock is per request).
worker_class = "gthread"
workers = 1
threads = 8

# Load Django in the master before binding, so a bad DJC_SETTINGS stops the
# start-up (ImproperlyConfigured on stderr) before the ready line is printed.
preload_app = True

# gunicorn >= 25.1 opens a control socket at one fixed per-user path by
# default; several instances (one per settings profile) would fight over it.
control_socket_disable = True


def when_ready(server):
    # The harness waits for exactly this line on stderr. The port is read from
    # the bound socket, because --bind may ask for port 0.
    host, port = server.LISTENERS[0].getsockname()[:2]
    if ":" in host:  # IPv6
        host = f"[{host}]"
    print(f"djc: listening on http://{host}:{port}", file=sys.stderr, flush=True)
