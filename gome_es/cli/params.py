"""Parameter types shared by gome's options: a duration accepted everywhere a time is."""

from __future__ import annotations

import math
import re
from typing import Any

import click

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_seconds(text: str) -> float:
    """'12h', '90m', '45s', '1h30m', '250ms' or plain seconds ('600', '0.5') -> seconds; ValueError otherwise."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    total, pos = 0.0, 0
    for m in _PART.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos == 0 or pos != len(t):
        raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 5m, 1h30m, 250ms or plain seconds")
    return total


class Duration(click.ParamType):
    """A time: ``5m``, ``90s``, ``1h``, ``1h30m``, ``250ms`` or a number of seconds; at least ``min_s``."""

    name = "duration"

    def __init__(self, min_s: float = 0.0) -> None:
        self.min_s = min_s

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = parse_seconds(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if not math.isfinite(seconds) or seconds < self.min_s:
            self.fail(f"{value!r} is shorter than {self.min_s:g}s", param, ctx)
        return seconds
