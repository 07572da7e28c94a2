"""Reading released RD-Agent log folders safely and importing them as gome runs.

``unpickle`` (restricted unpickler), ``signed`` (file dialects), ``logdir``
(folder walk), ``importer`` (mapping to events), ``cli`` (the command).
Importing this package loads nothing heavy; names resolve on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ImportSummary", "import_rdagent", "safe_loads"]


def __getattr__(name: str) -> Any:
    if name in ("ImportSummary", "import_rdagent"):
        # lazy: loaded on first use, so `import gome_es.rdagent.provenance` loads no importer
        from . import importer

        return getattr(importer, name)
    if name == "safe_loads":
        # lazy: loaded on first use, so `import gome_es.rdagent.provenance` loads no importer
        from .unpickle import safe_loads

        return safe_loads
    raise AttributeError(name)
