"""Headless Chromium for the HTML reports' browser tests (the `chromium` fixture finds the binary)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-default-apps", "--disable-extensions"]


def run_chromium(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """One headless Chromium run with its own profile under ``tmp``; stdout is e.g. the dumped DOM."""
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=90)
