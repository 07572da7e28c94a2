"""The pure policy: from the folded state, the next decision.

:func:`decide_one` returns the single next decision event the agent takes (or
``None`` when every trace waits on a side effect).  The live driver calls it
until it returns ``None``, appends the batch, then performs the outstanding
side effects; replay calls it at every recorded decision and compares.  So
the same code path makes and checks every decision.

Inputs are the state, the recorded blobs (content-addressed, so reading one is
referentially transparent) and nothing else: randomness comes from seeds
derived from (run seed, trace, iteration), time from recorded ``ts``.

The parts, each its own module:

- :mod:`.dispatch`: :func:`decide_one`, the phases every strategy shares;
- :mod:`.strategy`: the :class:`Strategy` protocol; :mod:`.gome` and :mod:`.tree` implement it;
- :mod:`.contexts`: what each LLM request shows the reasoner;
- :mod:`.scoring`: the five dimensions, weights, similarity rejection and the seeded draw;
- :mod:`.validation`: the hierarchy of checks an outcome is judged by;
- :mod:`.memory`: the success memory's entries and weighted view;
- :mod:`.decision`: the :class:`Decision`, seeds, requests and parsed answers.
"""

from .decision import LLM_RETRIES, BlobReader, Decision, derive_seed
from .dispatch import decide_one
from .strategy import Strategy, strategy_for
from .validation import BUG_LEVELS

__all__ = ["BUG_LEVELS", "LLM_RETRIES", "BlobReader", "Decision", "Strategy", "decide_one", "derive_seed",
           "strategy_for"]
