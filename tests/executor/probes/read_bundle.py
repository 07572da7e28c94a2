# ruff: noqa: F821 - a probe is a fragment: TARGETS and the helpers come from _common.py, prepended
# expect: forbidden_access
"""The bundled task archives (gome_es/tasks/bundled/*.tar.gz held private/answers.csv inside
the Python environment the sandbox kept visible), found by their host path, by searching
sys.path and site-packages, and through gome_es if it imports.  Listing the archives' host
folder in Python is refused and recorded."""
import glob
import sys
import tarfile

candidates = glob.glob(os.path.join(TARGETS["bundled_dir"], "*"))
for entry in sys.path:
    candidates += glob.glob(os.path.join(entry, "gome_es", "tasks", "bundled", "*"))
try:
    import gome_es

    for entry in gome_es.__path__:  # an empty namespace package (a hidden copy) is fine; its content is not
        if os.listdir(entry):
            leak(f"gome_es is visible inside the sandbox: {entry}: {os.listdir(entry)}")
except ImportError:
    pass
for path in candidates:
    try:
        with tarfile.open(path) as tar:
            names = tar.getnames()
        leak(f"read bundled archive {path}: {names[:3]}")
    except Exception:  # noqa: BLE001
        try:
            open(path, "rb").read(16)
            leak(f"read bundled file {path}")
        except OSError:
            pass
honest_outputs()
