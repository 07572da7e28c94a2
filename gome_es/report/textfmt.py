"""How values look in gome's text output: rounded numbers, "—" for nothing, no Python reprs.

Every command that prints for people formats through here, so a score has the
same number of decimals in `gome run`, `diff`, `runs`, `steps` and `show`.
Pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..trust.text import clean

NOTHING = "—"
SCORE_DECIMALS = 5  # MLE-bench rounds scores to 5 decimals


def score(value: Any, decimals: int = SCORE_DECIMALS) -> str:
    """A score with a fixed number of decimals (fewer for large values); "—" for none."""
    if value is None or isinstance(value, bool):
        return NOTHING if value is None else str(value)
    if not isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    mag = abs(value)
    if mag >= 1000:
        decimals = 1
    elif mag >= 100:
        decimals = min(decimals, 3)
    return f"{value:.{decimals}f}"


def metric_decimals(metric: str | None) -> int:
    """Decimals for a metric: rates and AUCs 5, errors in target units 3."""
    m = (metric or "").lower()
    if any(k in m for k in ("rmse", "mae", "mse", "error")) and "log" not in m:
        return 3
    return SCORE_DECIMALS


def number(value: Any, decimals: int = 2) -> str:
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{decimals}f}"
    return text(value)


def duration(seconds: Any) -> str:
    """``75.3`` -> ``1m15s``; ``None`` -> "—"."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return NOTHING
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f}s"
    s = round(s)
    h, rem = divmod(int(s), 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{sec:02d}s"
    return f"{sec}s"


def money(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return NOTHING
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def text(value: Any, width: int | None = None) -> str:
    """Any value as one line of text: lists joined by ", ", mappings as k=v, never a repr; escape
    sequences and other non-printing characters go through the one sanitizer (:mod:`gome_es.trust.text`)."""
    if value is None:
        s = NOTHING
    elif isinstance(value, str):
        s = value
    elif isinstance(value, bool):
        s = "yes" if value else "no"
    elif isinstance(value, float):
        s = number(value, 4)
    elif isinstance(value, Mapping):
        s = ", ".join(f"{k} {text(v)}" for k, v in value.items()) or NOTHING
    elif isinstance(value, (list, tuple, set, frozenset)):
        s = ", ".join(text(v) for v in value) or NOTHING
    else:
        s = str(value)
    return clean(s, "line", width)


def counts(mapping: Mapping[str, int]) -> str:
    """``{'ok': 7, 'timeout': 1}`` -> ``7 ok, 1 timeout``."""
    return ", ".join(f"{v} {k}" for k, v in sorted(mapping.items(), key=lambda kv: (-kv[1], kv[0]))) or NOTHING


_EMPTY_DIAGNOSIS = re.compile(r"\s*\[no problem visible\]\s*$")


def hypothesis_text(value: Any) -> str:
    """A hypothesis as people read it: without the offline reasoner's empty-diagnosis tag."""
    return NOTHING if value is None else _EMPTY_DIAGNOSIS.sub("", str(value))
