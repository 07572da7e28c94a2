"""The pure core: everything that decides, and nothing that does I/O.

Events and their upcasters, the fold into a :class:`~gome_es.core.state.RunState`,
the policy (both strategies), the prompts and the LLM answer schemas, the
canonical encoder, replay, the diff algorithm, views and the synthetic-run
generator.  Nothing here imports a database, the network, a subprocess, the
clock or the global random stream, nor an I/O edge of gome_es
(``tests/core/test_boundaries.py`` reads every module under this folder), and
the code version a run records is a digest of every source file here
(:mod:`gome_es.version`).  The edges (store, llm, executor, tasks, driver, cli,
report) live beside this package.
"""
