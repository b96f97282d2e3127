"""Serve the app as the harness and the container need it (run from this folder):

    python serve.py --server gunicorn|uvicorn --bind 127.0.0.1:0

Both print the same ready line, `djc: listening on http://HOST:PORT`, with the
port actually bound (port 0 picks a free one), and load Django before that
line, so a bad DJC_SETTINGS stops the start-up first.

- gunicorn (WSGI): this process becomes gunicorn, configured by gunicorn.conf.py.
- uvicorn (ASGI, Django's asgi application): its pure-Python h11 protocol, and
  no lifespan protocol, which Django's ASGI handler does not speak.

--server defaults to $DJC_SERVER, else gunicorn.
"""
import argparse
import os
import socket
import sys

SERVERS = ("gunicorn", "uvicorn")


def serve_gunicorn(bind):
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind, "conformance.wsgi"]
    os.execv(sys.executable, args)


def serve_uvicorn(bind):
    import uvicorn

    from conformance.asgi import application

    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP as uvicorn's own --host/--port sockets have it: asyncio turns Nagle off
    # (TCP_NODELAY) only on connections of such a socket, else each keep-alive response waits
    # on the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    # Listening before the ready line: a request sent at once waits in the backlog until
    # uvicorn's loop accepts it.
    sock.listen(2048)
    bound_host, bound_port = sock.getsockname()[:2]
    if ":" in bound_host:
        bound_host = f"[{bound_host}]"
    config = uvicorn.Config(application, http="h11", lifespan="off", access_log=False, log_level="warning")
    print(f"djc: listening on http://{bound_host}:{bound_port}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, default=os.environ.get("DJC_SERVER") or "gunicorn")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (port 0: any free port)")
    args = parser.parse_args()
    if args.server == "gunicorn":
        serve_gunicorn(args.bind)
    else:
        serve_uvicorn(args.bind)


if __name__ == "__main__":
    main()
