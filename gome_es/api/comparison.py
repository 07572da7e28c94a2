"""``gome.compare([...])``: the figures `gome compare` prints, as DataFrames and a page."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..report.compare import RunPoint, collect, render_html, render_text, summarize
from .database import Database

if TYPE_CHECKING:
    import pandas as pd


@dataclasses.dataclass
class Comparison:
    points: list[RunPoint]
    summary: dict[str, Any]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: task, variant, seed, status, val, test, medal, ... (no curve)."""
        # lazy: pandas is heavy; only the DataFrame results need it
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in dataclasses.asdict(p).items() if k != "curve"} for p in self.points])

    @property
    def groups(self) -> pd.DataFrame:
        """One row per (task, variant): runs, mean and standard error of val and test, medals."""
        # lazy: pandas is heavy; only the DataFrame results need it
        import pandas as pd

        rows = []
        for g in self.summary["groups"]:
            row = {k: v for k, v in g.items() if k not in ("val", "test")}
            for what in ("val", "test"):
                row[f"{what}_mean"], row[f"{what}_se"], row[f"{what}_n"] = (g[what]["mean"], g[what]["se"],
                                                                            g[what]["n"])
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def paired(self) -> pd.DataFrame:
        """Paired differences by seed (a - b, positive when a is better on the metric)."""
        # lazy: pandas is heavy; only the DataFrame results need it
        import pandas as pd

        return pd.DataFrame(self.summary["paired"])

    def text(self) -> str:
        return render_text(self.summary)

    def html(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(render_html(self.points, self.summary), encoding="utf-8")
        return out

    def __str__(self) -> str:
        return self.text()


def compare(runs: list[str], db: str | Path | Database = "gome.db") -> Comparison:
    if isinstance(db, Database):
        points = collect(db.store, list(runs))
    else:
        with Database(db) as opened:
            points = collect(opened.store, list(runs))
    return Comparison(points, summarize(points))
