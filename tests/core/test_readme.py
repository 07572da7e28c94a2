"""The README is a landing page that stays one, and what it shows is true.

Short (a newcomer reads it on one or two screens), the architecture page linked from the first
screen, every docs page it links there; the two set-up commands pin torch first and are the ones
CI runs; every `gome` command of its session is a command with those options, and every name of
its Python session is one the library has.
"""

from __future__ import annotations

import ast
import inspect
import re
import shlex
from pathlib import Path

import click
import pytest

import gome_es as gome
from gome_es.api import Database
from gome_es.cli.main import cli
from gome_es.tasks import list_tasks

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_LINES = 220


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def test_the_readme_is_a_landing_page() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_LINES, (f"README.md has {len(lines)} lines (at most {MAX_LINES}): put the detail "
                                     "in a docs/ page (docs/guide.md for a command) and link it")
    first_screen = "\n".join(lines[:25])
    assert "(docs/architecture.md)" in first_screen, "README.md must link docs/architecture.md in its first 25 lines"


def test_every_docs_page_the_readme_names_exists() -> None:
    text = README.read_text()
    named = set(re.findall(r"\]\((docs/[^)#\s]+)", text)) | set(re.findall(r"`(docs/[\w./-]+\.md)`", text))
    assert named, "the README links no docs page"
    missing = sorted(p for p in named if not (REPO / p).is_file())
    assert not missing, f"README.md links docs pages that do not exist: {missing}"
    for page, anchor in re.findall(r"\]\((docs/[^)#\s]+)#([\w-]+)\)", text):  # and the sections they point into
        assert anchor in slugs(REPO / page), f"README.md links {page}#{anchor}, a section that page does not have"


def slugs(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    heads = re.findall(r"^#+ (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in heads}


def test_the_guide_s_contents_and_links_point_at_sections_that_exist() -> None:
    docs = REPO / "docs"
    problems = []
    for page in sorted(docs.glob("*.md")):
        for target, anchor in re.findall(r"\]\(([\w./-]*)#([\w-]+)\)", page.read_text()):
            linked = page if not target else (docs / target)
            if not linked.is_file() or anchor not in slugs(linked):
                problems.append(f"{page.name} -> {target}#{anchor}")
    assert not problems, f"links to sections that do not exist: {problems}"


def setup_commands() -> list[str]:
    return [line.strip() for line in README.read_text().splitlines() if line.startswith("    python3 -m venv")]


def test_the_two_setup_commands_pin_torch_first_and_ci_runs_the_same() -> None:
    run, tests = setup_commands()
    for command in (run, tests):
        steps = [s.strip() for s in command.split("&&")]
        assert steps[0] == "python3 -m venv .venv"
        assert steps[1] == ".venv/bin/pip install torch==2.13.0", "torch is pinned before anything can pull a CUDA build"
    assert run.endswith(".venv/bin/gome run --task breast-cancer-diagnosis")
    assert tests.endswith(".venv/bin/python -m pytest") and "'.[solutions,test]'" in tests
    ci = (REPO / ".ci" / "run").read_text()
    assert ".venv/bin/pip install --quiet torch==2.13.0" in ci
    ci_tests = [line for line in ci.splitlines() if line.startswith(".venv/bin/python -m pytest")]
    assert len(ci_tests) == 1 and shlex.split(ci_tests[0])[:3] == shlex.split(tests.split("&&")[-1])[:3]
    assert "breast-cancer-diagnosis" in {t.id for t in list_tasks()}, "the README's task ships with gome"


def session_commands() -> list[list[str]]:
    """Each `gome ...` of the README's shell session as words (comments, redirections and `&&` split off)."""
    out = []
    for block in blocks(README.read_text(), "sh"):
        for line in block.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                words = shlex.split(part.split(">", 1)[0])
                if words and words[0] == "gome":
                    out.append(words[1:])
    return out


def check_session(commands: list[list[str]]) -> list[str]:
    problems = []
    for words in commands:
        cmd: click.Command = cli
        path = []
        while isinstance(cmd, click.Group) and words and words[0] in cmd.commands:
            path.append(words[0])
            cmd = cmd.commands[words.pop(0)]
        if not path or isinstance(cmd, click.Group) and not cmd.invoke_without_command and not words:
            problems.append(f"`gome {' '.join(path + words)}` is not a command")
            continue
        known = {o for p in cmd.params if isinstance(p, click.Option) for o in [*p.opts, *p.secondary_opts]}
        for word in words:
            if word.startswith("-") and word.split("=")[0] not in known:
                problems.append(f"`gome {' '.join(path)}` has no option {word}")
    return problems


def test_the_command_line_session_names_real_commands_and_options() -> None:
    commands = session_commands()
    assert len(commands) >= 8, "the README shows a session of about ten commands"
    problems = check_session(commands)
    assert not problems, "README session: " + "; ".join(problems)


def test_the_session_check_sees_a_wrong_command_and_a_wrong_option() -> None:
    assert check_session([["run", "--task", "x", "--bogus"], ["replya", "a"], ["runs", "--json"]]) == [
        "`gome run` has no option --bogus", "`gome replya a` is not a command"]


def python_names(source: str) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(attributes of `gome`, attributes of `db`, keyword arguments per `gome.<function>` call)."""
    face, db, keywords = set(), set(), {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            {"gome": face, "db": db}.get(node.value.id, set()).add(node.attr)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "gome"):
            keywords.setdefault(node.func.attr, set()).update(k.arg for k in node.keywords if k.arg)
    return face, db, keywords


def test_the_python_session_uses_the_library_as_it_is() -> None:
    (source,) = blocks(README.read_text(), "python")
    face, db, keywords = python_names(source)
    assert {"run", "open"} <= face, "the Python session opens a database and starts a run"
    assert face <= set(gome.__all__), f"not in gome_es.__all__: {sorted(face - set(gome.__all__))}"
    assert db <= set(dir(Database)), f"not methods of gome.open(...): {sorted(db - set(dir(Database)))}"
    for function, names in keywords.items():
        params = set(inspect.signature(getattr(gome, function)).parameters)
        assert names <= params, f"gome.{function} takes no {sorted(names - params)}"


@pytest.mark.parametrize("source,problem", [("gome.start('x')\n", "start"), ("db = 1\ndb.rows()\n", "rows")])
def test_the_python_check_sees_a_name_the_library_lacks(source: str, problem: str) -> None:
    face, db, _ = python_names(source)
    assert problem in (face - set(gome.__all__)) | (db - set(dir(Database)))
