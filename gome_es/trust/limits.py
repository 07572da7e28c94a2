"""Bounded reads of files gome did not make: a size cap before anything is parsed, a deadline while it is.

A solution's ``submission.csv``, an export someone sent, a gzip stream: each is read here with a
limit on how many bytes are taken (compressed and decompressed), and checked against a clock, so a
hostile or careless file costs at most what the limit allows and is refused with a message that says
which limit it passed.  :func:`call_bounded` runs a check in a worker process that is killed at its
deadline, for work that cannot stop itself (a C parser in the middle of a huge field).
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import IO, Any, Iterator

from gome_es.errors import GomeError

# What one stream read may hand back in a decompressed export line, and in all, unless the caller says
# otherwise.  Far above real runs (a 12-hour run's export is tens of MB; one event line holds a payload,
# never a blob) and far below what would exhaust the machine.
MAX_LINE_BYTES = 256 * 2**20
MAX_STREAM_BYTES = 16 * 2**30
_CHUNK = 1 << 16  # decompressed bytes taken per step: memory stays at a few chunks plus the line being built


class LimitExceeded(GomeError):
    """An untrusted input passed one of the limits it is read under (size or time)."""


class TooLarge(LimitExceeded):
    """More bytes than the limit: the file, a decompressed line, or the whole decompressed stream."""


class TooSlow(LimitExceeded):
    """A check of an untrusted input ran past its deadline."""


class Deadline:
    """A point on the monotonic clock; ``check`` raises :class:`TooSlow` once it has passed."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = float(seconds)
        self.what = what
        self._end = time.monotonic() + self.seconds

    def left(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def check(self, stage: str = "") -> None:
        if self.expired():
            where = f" (at {stage})" if stage else ""
            raise TooSlow(f"{self.what} ran past its {self.seconds:g}s time limit{where}")


def read_bounded(path: Path | str, limit: int, what: str = "") -> bytes:
    """The bytes of a regular file, refused when over ``limit`` bytes; never through a link, FIFO or device.

    Raises :class:`TooLarge` over the limit and :class:`LimitExceeded` for something that is not a
    regular file (or cannot be opened): nothing is read past ``limit + 1`` bytes.
    """
    path = Path(path)
    what = what or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        why = "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot be opened ({exc.strerror})"
        raise LimitExceeded(f"{what} {why}; give the path of a regular file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LimitExceeded(f"{what} is not a regular file; give the path of a regular file")
        if st.st_size > limit:
            raise TooLarge(f"{what} is {st.st_size} bytes, over the {limit}-byte limit")
        chunks, taken = [], 0
        while True:
            chunk = os.read(fd, min(_CHUNK * 16, limit + 1 - taken))
            if not chunk:
                break
            chunks.append(chunk)
            taken += len(chunk)
            if taken > limit:  # grew while being read
                raise TooLarge(f"{what} is over the {limit}-byte limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


class _Lines:
    """Splits a byte stream into lines (each with its newline), refusing a line or a total past the limits."""

    def __init__(self, what: str, max_line: int, max_total: int, max_first_line: int | None) -> None:
        self.what, self.max_line, self.max_total = what, max_line, max_total
        self.limit = max_line if max_first_line is None else min(max_line, max_first_line)
        self.total = 0
        self.pending = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.total += len(data)
        if self.total > self.max_total:
            raise TooLarge(f"{self.what} holds more than {self.max_total} bytes (the limit on a whole stream)")
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            self.pending += data[start:nl + 1]
            self._check()
            yield bytes(self.pending)
            self.pending = bytearray()
            self.limit = self.max_line
            start = nl + 1
        self.pending += data[start:]
        self._check()

    def _check(self) -> None:
        if len(self.pending) > self.limit:
            raise TooLarge(f"{self.what} has a line longer than {self.limit} bytes (the limit on one line)")

    def rest(self) -> Iterator[bytes]:
        if self.pending:
            yield bytes(self.pending)


def plain_lines(raw: IO[bytes], *, what: str, max_line: int = MAX_LINE_BYTES,
                max_total: int = MAX_STREAM_BYTES, max_first_line: int | None = None) -> Iterator[bytes]:
    """The lines of a byte stream (each with its newline; a last one may lack it), under the limits of
    :func:`gzip_lines`."""
    lines = _Lines(what, max_line, max_total, max_first_line)
    while block := raw.read(_CHUNK):
        yield from lines.feed(block)
    yield from lines.rest()


def gzip_lines(raw: IO[bytes], *, what: str, max_line: int = MAX_LINE_BYTES,
               max_total: int = MAX_STREAM_BYTES, max_first_line: int | None = None) -> Iterator[bytes]:
    """The decompressed lines of a gzip stream (each with its newline), inflated a chunk at a time.

    Raises :class:`TooLarge` as soon as one decompressed line passes ``max_line`` bytes or the
    decompressed stream passes ``max_total``: a gzip bomb is refused after at most ``max_line`` plus a
    chunk of memory, however far it would inflate (the first line is held to ``max_first_line`` when
    given: a header).  Concatenated gzip members are read in turn, as
    ``gzip`` reads them; a damaged or truncated stream raises :class:`LimitExceeded` naming it.
    """
    lines = _Lines(what, max_line, max_total, max_first_line)
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = False  # the current member has been given bytes
    try:
        while block := raw.read(_CHUNK):
            while block:
                fed = True
                out = decomp.decompress(block, _CHUNK)
                yield from lines.feed(out)
                # output held back by the chunk limit comes out on further calls, with or without input left
                while not decomp.eof and (decomp.unconsumed_tail or len(out) == _CHUNK):
                    out = decomp.decompress(decomp.unconsumed_tail, _CHUNK)
                    yield from lines.feed(out)
                if decomp.eof:  # a member ended: what follows is another member
                    block = decomp.unused_data
                    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    fed = False
                else:
                    block = b""
    except zlib.error as exc:
        raise LimitExceeded(f"{what} is not a readable gzip stream ({exc})") from None
    if fed and not decomp.eof:
        raise LimitExceeded(f"{what} is truncated: the gzip stream ends in the middle of a member")
    yield from lines.rest()


def inflate(data: bytes, limit: int, what: str) -> bytes:
    """zlib-decompress ``data``, refusing (:class:`TooLarge`) as soon as the output passes ``limit`` bytes."""
    decomp = zlib.decompressobj()
    try:
        out = decomp.decompress(data, limit + 1)
    except zlib.error as exc:
        raise LimitExceeded(f"{what} cannot be decompressed ({exc})") from None
    if len(out) > limit or decomp.unconsumed_tail:
        raise TooLarge(f"{what} inflates past {limit} bytes")
    if not decomp.eof:
        raise LimitExceeded(f"{what} is truncated: its zlib stream does not end")
    return out


# ---------------------------------------------------------------- checks in a worker process

_MAX_ANSWER_BYTES = 16 * 2**20  # what a worker may print back


def call_bounded(target: str, args: dict[str, Any], *, seconds: float, what: str) -> Any:
    """``module:function(**args)`` run in a fresh worker process, killed when ``seconds`` have passed.

    ``args`` and the answer travel as JSON.  Raises :class:`TooSlow` at the deadline (the worker's
    whole process group is killed first) and :class:`LimitExceeded` when the worker fails or answers
    more than a few MB; the worker starts in its own session so nothing it leaves behind survives.
    """
    cmd = [sys.executable, "-m", "gome_es.trust.limits", target]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, close_fds=True)
    try:
        out, err = proc.communicate(json.dumps(args).encode("utf-8"), timeout=max(0.01, seconds))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TooSlow(f"{what} ran past its {seconds:g}s time limit and was stopped") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0 or len(out) > _MAX_ANSWER_BYTES:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise LimitExceeded(f"{what} failed in its worker process: {tail[0][:300]}")
    return json.loads(out)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.communicate()


def _worker(target: str) -> int:
    module, _, name = target.partition(":")
    if not module.startswith("gome_es.") or not name:
        print(f"refusing to call {target!r}: only gome_es functions run here", file=sys.stderr)
        return 2
    fn = getattr(importlib.import_module(module), name)
    args = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(fn(**args)))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
