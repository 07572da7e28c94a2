"""The code version covers every source file under gome_es/core/, and nothing else.

Resume's "code changed" check and replay's likely cause rest on it: a core module
added (say, by splitting the policy) must count without anyone listing it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gome_es import __version__
from gome_es.version import CORE, code_version, core_sources, source_digest


def _copy_core(tmp_path: Path) -> Path:
    dst = tmp_path / "core"
    shutil.copytree(CORE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_code_version_is_the_package_version_and_the_core_digest() -> None:
    assert code_version() == f"{__version__}+{source_digest()[:12]}"


def test_every_core_source_is_hashed() -> None:
    names = {p.relative_to(CORE).as_posix() for p in core_sources()}
    assert {"policy/dispatch.py", "policy/scoring.py", "policy/tree.py", "state.py", "events.py", "prompts.py", "canonical.py",
            "schemas.py", "__init__.py"} <= names
    assert names == {p.relative_to(CORE).as_posix() for p in CORE.rglob("*.py") if "__pycache__" not in p.parts}


def test_a_new_core_module_changes_the_digest(tmp_path: Path) -> None:
    root = _copy_core(tmp_path)
    before = source_digest(root)
    (root / "policy_extra").mkdir()
    (root / "policy_extra" / "scoring.py").write_text("WEIGHT = 1\n")
    assert source_digest(root) != before


def test_an_edit_and_a_rename_in_the_core_change_the_digest(tmp_path: Path) -> None:
    root = _copy_core(tmp_path)
    before = source_digest(root)
    path = root / "policy" / "tree.py"
    path.write_text(path.read_text() + "\n# tuned\n")
    edited = source_digest(root)
    assert edited != before
    path.rename(root / "policy" / "tree2.py")
    assert source_digest(root) != edited


def test_files_outside_the_core_and_caches_do_not_count(tmp_path: Path) -> None:
    root = _copy_core(tmp_path)
    before = source_digest(root)
    (root / "__pycache__").mkdir(exist_ok=True)
    (root / "__pycache__" / "policy.cpython-311.pyc").write_bytes(b"\0junk")
    (tmp_path / "cli.py").write_text("print('a change to the CLI')\n")
    assert source_digest(root) == before


def _copy_package(tmp_path: Path) -> Path:
    dst = tmp_path / "gome_es"
    shutil.copytree(CORE.parent, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_editing_an_analysis_module_leaves_the_code_version_alone(tmp_path: Path) -> None:
    """diff, views and plain words read recorded runs and decide nothing: a change to `gome show`'s
    wording must not make every later `gome resume` replay its run first."""
    package = _copy_package(tmp_path)
    before = source_digest(package / "core")
    for name in ("views.py", "diff.py", "decisions.py", "plain_words.py"):
        path = package / "analysis" / name
        path.write_text(path.read_text() + "\n# an edit to how a run is shown\n")
    assert source_digest(package / "core") == before


def test_editing_a_policy_module_changes_the_code_version(tmp_path: Path) -> None:
    package = _copy_package(tmp_path)
    before = source_digest(package / "core")
    path = package / "core" / "policy" / "scoring.py"
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    assert source_digest(package / "core") != before


def test_the_core_holds_only_what_decides() -> None:
    """The modules that only read runs live in gome_es/analysis, and test support stays in tests/."""
    names = {p.relative_to(CORE).as_posix() for p in core_sources()}
    assert not names & {"diff.py", "diff_decisions.py", "views.py", "plain_words.py", "synthetic.py"}, names
