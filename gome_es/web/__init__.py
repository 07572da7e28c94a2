"""`gome serve`: a local, read-only web view of a gome database.

The run list with filters, each run's report updating live while the run writes, two-run and
many-run comparisons, and sweeps, all from the library (:mod:`gome_es.api`,
:mod:`gome_es.report`).  Starlette (an ASGI toolkit) answers the requests and uvicorn serves
them; both are the optional extra ``gome-es[web]``, imported only by this package.

:func:`create_app` builds the application (tests drive it with Starlette's TestClient);
:func:`serve` binds the socket and runs it (what the command calls).
"""

from .app import WebError, create_app
from .server import check_host, serve

__all__ = ["WebError", "check_host", "create_app", "serve"]
