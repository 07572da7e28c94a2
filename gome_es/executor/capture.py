"""Bounded capture of a child's output stream: the first half of the budget
is written to a file as it arrives, the last half is kept in a ring in memory,
and the file gets the tail appended when the stream ends.  Memory and disk stay
bounded whatever the solution prints (a gigabyte of logs costs one read loop).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

CHUNK = 1 << 16


class StreamCapture:
    """Drains one pipe in a background thread into a head+tail file."""

    def __init__(self, fd: int, path: Path, max_bytes: int) -> None:
        self._fd = fd
        self.path = path
        self._head_budget = max_bytes // 2
        self._tail_budget = max_bytes - self._head_budget
        self._head_written = 0
        self._tail = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._drain, name=f"capture-{path.name}", daemon=True)
        self._file = open(path, "wb")  # noqa: SIM115 - closed by _drain
        self._thread.start()

    def _drain(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._fd, CHUNK)
                except OSError:
                    break
                if not chunk:
                    break
                self.total += len(chunk)
                room = self._head_budget - self._head_written
                if room > 0:
                    self._file.write(chunk[:room])
                    self._head_written += min(room, len(chunk))
                    chunk = chunk[room:]
                if chunk:
                    self._tail += chunk
                    if len(self._tail) > 2 * self._tail_budget:  # trim lazily, not per chunk
                        del self._tail[: len(self._tail) - self._tail_budget]
        finally:
            tail = bytes(self._tail[-self._tail_budget :]) if self._tail_budget else b""
            omitted = self.total - self._head_written - len(tail)
            if omitted > 0:
                self._file.write(f"\n[... {omitted} bytes omitted by gome executor ...]\n".encode())
            self._file.write(tail)
            self._file.close()
            os.close(self._fd)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def tail_text(self, limit: int = 8192) -> str:
        """The last ``limit`` bytes of the captured file (after join)."""
        size = self.path.stat().st_size
        with open(self.path, "rb") as f:
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", errors="replace")
