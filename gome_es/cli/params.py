"""Option types every `gome` command shares, so each value is range-checked at parse time.

A bad value ends the command before anything runs, with click's usage error
(exit 2) naming the option, the value and what is allowed; no command sees an
out-of-range number, a non-finite float, a run id that is really a path, or
an output path that is a device, a FIFO or a directory.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import click

from ..core.limits import MAX_TRACES
from ..core.vocabulary import ReasonerKind
from ..store.runids import RULE, run_id_problem

__all__ = ["MAX_TRACES"]  # re-exported: the options' bound is the library's

MAX_SLOTS = 256  # concurrent side effects of one driver
MAX_DURATION_S = 366 * 24 * 3600.0  # a year: longer waits overflow the OS's timers

# The --reasoner choices, read from the one table of reasoner kinds.  A sweep starts many fresh runs,
# so it offers only the kinds that answer live (a replay needs one recorded run to serve from).
REASONER_KINDS: tuple[str, ...] = tuple(k.value for k in ReasonerKind)
LIVE_REASONER_KINDS: tuple[str, ...] = tuple(k.value for k in ReasonerKind if k is not ReasonerKind.replay)


class Duration(click.ParamType):
    """'12h', '90m', '45s', '1h30m' or plain seconds ('600', '2.5') -> seconds, > 0 and at most a year."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            seconds = parse_duration(str(value), fail=lambda m: self.fail(m, param, ctx))
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive duration; use e.g. 12h, 90m, 1h30m or 600 (seconds)",
                      param, ctx)
        if seconds > MAX_DURATION_S:
            self.fail(f"{value!r} is longer than a year ({MAX_DURATION_S:.0f} s); give a shorter duration",
                      param, ctx)
        return seconds


def parse_duration(text: str, fail: Any = None) -> float:
    """'12h', '90m', '45s', '1h30m' or plain seconds -> seconds (not range-checked)."""
    def bad(message: str) -> float:
        if fail is not None:
            fail(message)
        raise click.BadParameter(message)

    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)([hms])", text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"h": 3600, "m": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        return bad(f"{text!r} is not a duration; use e.g. 12h, 90m, 1h30m or 600 (seconds)")
    return total


class FiniteFloat(click.ParamType):
    """A finite float in [min, max] (nan and inf refused, which click.FloatRange lets through)."""

    name = "number"

    def __init__(self, min: float | None = None, max: float | None = None, min_open: bool = False) -> None:
        self.min, self.max, self.min_open = min, max, min_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low_bad = self.min is not None and (number <= self.min if self.min_open else number < self.min)
        if low_bad or (self.max is not None and number > self.max):
            low = "" if self.min is None else (f"> {self.min:g}" if self.min_open else f">= {self.min:g}")
            high = "" if self.max is None else f"<= {self.max:g}"
            self.fail(f"{value!r} is out of range; use a number {' and '.join(x for x in (low, high) if x)}",
                      param, ctx)
        return number


class RunIdType(click.ParamType):
    """A run id for a new run: short, plain, safe as a folder name (see gome_es.store.runids)."""

    name = "run_id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = run_id_problem(value)
        if problem is not None:
            shown = value if len(str(value)) <= 60 else str(value)[:57] + "..."
            self.fail(f"{shown!r}: {problem}. Use {RULE}.", param, ctx)
        return str(value)  # a str: run_id_problem refuses anything else


def _kind(mode: int) -> str | None:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def output_target(path: Path) -> Path:
    """Where a `-o PATH` write lands, or :class:`click.BadParameter` saying why it cannot.

    The file is written whole to a temporary file beside the target and renamed
    over it, so the target must be a regular file or not exist yet: a
    directory, device, FIFO or socket is refused.  A symlink is followed, as
    `cp` and a shell's `>` do: its final target is written (and checked the
    same way) and the link itself stays.  A link pointing nowhere creates its
    target; a loop is refused.  A folder on the way that does not exist is refused, named (a typo
    in a path must not leave a new tree of folders behind).
    """
    target = Path(os.path.abspath(path))
    try:
        is_link = target.is_symlink()
    except OSError as exc:  # a name too long for the file system
        raise click.BadParameter(f"cannot use {str(path)[:200]} ({exc.strerror})") from None
    if is_link:
        try:
            target = target.resolve(strict=False)
        except (RuntimeError, OSError) as exc:  # a symlink loop
            raise click.BadParameter(f"{path} is a symbolic link that leads nowhere ({exc}); "
                                     "pass a file path") from None
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise click.BadParameter(f"cannot use {str(path)[:200]} ({exc.strerror})") from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind is not None:
            via = "" if target == Path(os.path.abspath(path)) else f" (the link leads to {target})"
            raise click.BadParameter(f"{path} is {kind}{via}; -o writes a regular file: pass a file path")
    folder = target.parent
    if not os.path.lexists(folder):
        missing = folder
        while not os.path.lexists(missing.parent) and missing.parent != missing:
            missing = missing.parent
        if not missing.parent.is_dir():
            raise click.BadParameter(f"cannot write {str(path)[:300]}: {str(missing.parent)[:300]} is not a directory")
        raise click.BadParameter(f"cannot write {str(path)[:300]}: its folder {str(folder)[:300]} does not exist "
                                 f"({str(missing)[:300]} is missing); gome does not create folders for -o: make it "
                                 "first (mkdir -p) or pass a path in an existing folder")
    if not folder.is_dir():
        raise click.BadParameter(f"cannot write {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"cannot write {path}: folder {folder} is not writable "
                                 "(the file is written beside its target, then renamed over it)")
    return target


class OutputFile(click.ParamType):
    """``-o PATH``: a regular file (written atomically), a new one, or a link to one (see output_target)."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        try:
            return output_target(Path(value))
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


class InputFile(click.ParamType):
    """A file to read: it must exist and be a regular file (a link to one is fine).

    A FIFO would block the command forever waiting for a writer; a device or a
    directory is never what a gome command reads.
    """

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self.fail(f"{str(path)!r} does not exist", param, ctx)
        except OSError as exc:
            self.fail(f"cannot read {str(path)!r} ({exc.strerror})", param, ctx)
        kind = _kind(st.st_mode)
        if kind is not None:
            self.fail(f"{str(path)!r} is {kind}; pass a regular file", param, ctx)
        if not os.access(path, os.R_OK):
            self.fail(f"{str(path)!r} is not readable by this user", param, ctx)
        return path


class WorkDir(click.ParamType):
    """A folder gome writes into: an existing directory, or a path whose nearest existing
    ancestor is a writable directory (the folders are made on first use)."""

    name = "directory"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        existing = Path(os.path.abspath(path))
        try:
            while not os.path.lexists(existing) and existing != existing.parent:
                existing = existing.parent
            st = os.stat(existing)
        except OSError as exc:
            self.fail(f"cannot use {str(value)[:200]!r} ({exc.strerror})", param, ctx)
        if not stat.S_ISDIR(st.st_mode):
            what = "" if existing == Path(os.path.abspath(path)) else f" (on its way, {existing} is)"
            self.fail(f"{str(value)[:200]!r} is not a directory{what}: {_kind(st.st_mode) or 'a file'}; "
                      "pass a folder", param, ctx)
        if not os.access(existing, os.W_OK | os.X_OK):
            self.fail(f"{str(value)[:200]!r}: folder {existing} is not writable by this user", param, ctx)
        return path


TRACES = click.IntRange(1, MAX_TRACES)
AT_LEAST_ONE = click.IntRange(min=1)
SLOTS = click.IntRange(1, MAX_SLOTS)
MEMORY_MB = click.IntRange(min=1)
SEED = click.IntRange(0, 2**63 - 1)
DURATION = Duration()
TOLERANCE = FiniteFloat(min=0.0)
PRICE = FiniteFloat(min=0.0)  # dollars per million tokens
RUN_ID = RunIdType()
OUTPUT_FILE = OutputFile()
INPUT_FILE = InputFile()
WORK_DIR = WorkDir()
