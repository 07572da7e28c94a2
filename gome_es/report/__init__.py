"""Run reports: the self-contained HTML report (`gome report`) and the live terminal view (`gome watch`).

Pure modules (:mod:`.model`, :mod:`.svg`, :mod:`.html`, :mod:`.divergence`,
:func:`.watch.render_frame`) turn folded events into text; :mod:`.build` and
:class:`.watch.RunWatcher` are the edges that read the store.
"""

from .build import ReportError, build_report, load_run, write_report
from .divergence import DivergencePoint, first_divergence
from .model import RunReport, collect

__all__ = ["DivergencePoint", "ReportError", "RunReport", "build_report", "collect", "first_divergence",
           "load_run", "write_report"]
