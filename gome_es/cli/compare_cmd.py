"""`gome compare RUN_OR_SWEEP...`: many runs grouped by task and variant, as text or one HTML page.

Parses, makes one library call (:func:`gome_es.report.compare.collect`, then ``summarize``) and
prints; the figures are the library's (``gome.compare`` in Python returns the same)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from ..core.canonical import canonical_json
from ..trust.text import clean
from .common import db_option, open_store
from .params import OUTPUT_FILE


@click.command("compare")
@click.argument("ids", nargs=-1, required=True)
@db_option
@click.option("--html", "as_html", is_flag=True, help="Write one self-contained HTML page (tables and plots) to -o.")
@click.option("-o", "--output", type=OUTPUT_FILE, default=None, help="Where --html writes the page.")
@click.option("--json", "as_json", is_flag=True, help="The grouped figures and every run's point as JSON.")
def compare_cmd(ids: tuple[str, ...], db: Path, as_html: bool, output: Path | None, as_json: bool) -> None:
    """Compare runs, grouped by task and variant: mean ± standard error, paired differences by seed.

    IDS are run ids, unique prefixes, @last, or sweep ids (a sweep stands for
    every cell that has run).  A run's variant is its sweep cell's, or what its
    config records (gome, tree, no-memory, no-structured-reasoning, one-trace).
    --html -o FILE adds plots: the best validation score over the budget per
    variant (mean, with a ±SE band), validation against test per run, and
    medals per task.
    """
    # lazy: keeps gome <cmd> --help light
    from ..report.compare import collect, render_html, render_text, summarize

    if as_html and output is None:
        raise click.UsageError("--html needs -o FILE (where to write the page)")
    with open_store(db, readonly=True) as store:
        points = collect(store, list(ids))
    summary = summarize(points)
    if as_json:
        click.echo(clean(canonical_json({"summary": summary, "runs": [dataclasses.asdict(p) for p in points]}),
                         "json"))
        return
    if as_html:
        assert output is not None
        output.write_text(render_html(points, summary), encoding="utf-8")
        click.echo(f"wrote {output} ({len(points)} runs)", err=True)
        return
    click.echo(clean(render_text(summary)))  # task and variant names come from logs
