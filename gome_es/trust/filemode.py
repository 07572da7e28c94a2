"""The mode a new ordinary file gets: ``0666`` less the umask, as ``open()`` would give it.

Files written whole through a temporary file (``tempfile.mkstemp`` makes them ``0600``) and renamed
into place (reports, the selected submission) are ordinary outputs a user shares or hands to a
grader; they get this mode, not ``0600``.  The umask is read from ``/proc/self/status`` where there
is one: setting it to read it back (``os.umask``) would race with other threads creating files.
"""

from __future__ import annotations

import os


def ordinary_file_mode() -> int:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask
