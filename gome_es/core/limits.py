"""Bounds on a run's shape that the library and the command line share (no imports: the CLI
reads them for --help without loading the event models)."""

# Parallel traces of one run: each is a chain of experiments on one box.
MAX_TRACES = 64
