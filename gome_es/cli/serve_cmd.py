"""`gome serve`: the database in a browser, read-only, live while runs write.

Parses its options and makes one library call (:func:`gome_es.web.serve`); Starlette and
uvicorn are the optional extra ``gome-es[web]`` and are imported only here, when the
command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import GomeError
from .common import db_option


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on. Only a loopback address (127.0.0.1, ::1, localhost) "
                   "unless --allow-remote is given.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="The TCP port to listen on (0: any free port; the address is printed).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host other than a loopback address. The pages show every run's hypotheses, "
                   "code and logs to anyone who can reach the port, with no login and no TLS.")
@click.option("--poll", "poll_s", type=click.FloatRange(0.05, 60.0), default=0.5, show_default=True,
              help="Seconds between looks at the log for a live page (0.05 to 60).")
def serve_cmd(db: Path, host: str, port: int, allow_remote: bool, poll_s: float) -> None:
    """Start a local web server on the database: the run list with filters, each run's report
    updating live while the run writes (with the per-trace timeline), two-run and many-run
    comparisons, and sweeps. Read-only: the database is never written. Ctrl-C stops it.
    """
    try:
        # lazy: keeps gome <cmd> --help light
        from ..web import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("starlette", "uvicorn") and not str(exc.name).startswith(("starlette.", "uvicorn.")):
            raise
        raise GomeError(f"`gome serve` needs {exc.name}, which is not installed: "
                        "pip install 'gome-es[web]' (Starlette and uvicorn)") from exc
    serve(db, host=host, port=port, allow_remote=allow_remote, poll_s=poll_s,
          say=lambda line: click.echo(line, err=line.startswith("warning")))
