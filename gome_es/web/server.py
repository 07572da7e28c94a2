"""Binding and running the web view: the loopback rule, the socket, uvicorn.

:func:`check_host` is the rule: the server listens on a loopback address unless the user
says ``--allow-remote`` (the pages show every hypothesis, code and log of every run, and have
no login).  :func:`serve` binds the socket itself, so ``--port 0`` picks a free port and
the address printed is the one bound, then hands the socket to uvicorn.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from .app import LOOPBACK_NAMES, WebError, create_app


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_host(host: str, allow_remote: bool) -> str | None:
    """Refuse a non-loopback ``host`` unless ``allow_remote``; with it, the warning to print."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise WebError(f"--host {host} is not a loopback address: anyone who can reach it could read every run's "
                       "hypotheses, code and logs (the server has no login). Keep the default 127.0.0.1 and "
                       "use an SSH tunnel (ssh -L 8765:127.0.0.1:8765 HOST), or add --allow-remote if you "
                       "mean it")
    return (f"warning: serving on {host}, which is not a loopback address: anyone who can reach this machine "
            "can read every run in the database (no login, no TLS)")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebError(f"--host {host} cannot be resolved ({exc.strerror}); give an address such as "
                       "127.0.0.1") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise WebError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port "
                       "(--port 0 picks a free one)") from exc
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(db_path: str | Path, *, host: str = "127.0.0.1", port: int = 8765, allow_remote: bool = False,
          say: Callable[[str], None] = print, poll_s: float = 0.5) -> None:
    """Serve the web view of ``db_path`` until interrupted (Ctrl-C or SIGTERM)."""
    # lazy: uvicorn is an optional extra (gome-es[web])
    import uvicorn

    warning = check_host(host, allow_remote)
    allowed = None if warning else sorted({*LOOPBACK_NAMES, host.strip("[]").lower()})
    app = create_app(db_path, allowed_hosts=allowed, poll_s=poll_s)
    sock = bind(host, port)
    if warning:
        say(warning)
    say(f"gome serve: {url_of(sock)} (the database {db_path}, read-only; Ctrl-C stops)")
    view = app.state.view

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            view.stopping.set()  # live pages' streams end at their next look, so stopping takes no wait
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5,
                            access_log=False)
    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
