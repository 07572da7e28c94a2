"""The recorded breast-cancer runs (two seeds of the bundled task, as gome exported them), and
databases made from them: what most command-line tests read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gome_es.store import EventStore
from gome_es.store.exchange import PayloadValidator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "diff"
SEED0 = FIXTURES / "breast-cancer-seed0.jsonl.gz"
SEED1 = FIXTURES / "breast-cancer-seed1.jsonl.gz"


def db_with(path: Path, runs: Mapping[str, Path] | None = None, *,
            validator: PayloadValidator | None = None) -> Path:
    """A database at ``path`` holding each export of ``runs`` under its run id (by default SEED0 as ``r1``)."""
    with EventStore.open(path, validator=validator) as store:
        for run_id, export in (runs or {"r1": SEED0}).items():
            store.import_run(export, run_id=run_id)
    return path
