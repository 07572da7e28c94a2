"""The attacker of the shared-machine tests: the user nobody, reached from root through os.setuid in a
forked child, and a /tmp-like folder both can reach."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _nobody() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


NOBODY = _nobody()
needs_nobody = pytest.mark.skipif(NOBODY is None, reason="the attacker is the user nobody, reached through "
                                  "os.setuid from root; these tests do not run as root here")


def as_nobody(action: Callable[[], None]) -> None:
    """Run ``action`` as the unprivileged user nobody in a forked child; fail if it raised."""
    assert NOBODY is not None
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY[1])
            os.setuid(NOBODY[0])
            action()
        except BaseException:  # noqa: BLE001 - reported through the exit status
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the attacker's setup failed"


@contextmanager
def shared_tmpdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A /tmp-like folder (mode 1777) every user can reach, used as $TMPDIR meanwhile (ask for pytest's
    tmp_path first: its folders stay where they always are)."""
    shared = Path(tempfile.mkdtemp(prefix="gome-shared-", dir="/tmp"))
    shared.chmod(0o1777)
    monkeypatch.setenv("TMPDIR", str(shared))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    try:
        yield shared
    finally:
        shutil.rmtree(shared, ignore_errors=True)
