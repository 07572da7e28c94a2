"""A local folder of pretrained model weights that solutions may read (``gome run --weights-dir``).

Solutions run with no network, so a pretrained backbone must already be on disk: a torch
hub cache (``~/.cache/torch/hub``, whose ``checkpoints/resnet18-*.pth`` the offline image
solutions fine-tune) or any folder of ``state_dict`` files.  The folder is mounted
read-only into every execution's sandbox and named there by ``$GOME_WEIGHTS_DIR``.  A run
records it in ``RunStarted.task["weights"]``: the folder, its files (path and size; the
first ``MAX_FILES``) and a sha256 digest of that listing, so a run says which weights it
could use and the LLM's solution contract lists them (``gome_es.core.prompts.weights_line``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from gome_es.errors import GomeError

MAX_FILES = 500  # files listed (and digested); a cache with more is listed in part, and says so


class WeightsDirError(GomeError):
    """The --weights-dir folder cannot be used."""


def describe(path: str | Path) -> dict[str, Any]:
    """The record of a weights folder: ``dir``, ``files`` [{path, bytes}], ``digest``, ``truncated``."""
    root = Path(os.path.abspath(path))
    try:
        st = os.stat(root)
    except OSError as exc:
        raise WeightsDirError(f"--weights-dir {root}: {exc.strerror}; pass an existing folder of model "
                              "weights (for example a torch hub cache)") from None
    if not stat.S_ISDIR(st.st_mode):
        raise WeightsDirError(f"--weights-dir {root} is not a folder; pass the folder that holds the weight files")
    if not os.access(root, os.R_OK | os.X_OK):
        raise WeightsDirError(f"--weights-dir {root} is not readable by this user")
    files: list[dict[str, Any]] = []
    truncated = False
    for dirpath, dirnames, names in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(names):
            full = Path(dirpath) / name
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue  # links, FIFOs and devices are not weights (a link could lead out of the folder)
            if len(files) >= MAX_FILES:
                truncated = True
                break
            files.append({"path": full.relative_to(root).as_posix(), "bytes": int(info.st_size)})
        if truncated:
            break
    listing = json.dumps(files, sort_keys=True, separators=(",", ":"))
    return {"dir": str(root), "files": files, "truncated": truncated,
            "digest": hashlib.sha256(listing.encode()).hexdigest()}
