"""The reasoner a run's recorded config names, built (``offline``, ``openai`` or ``replay``).

``DEFAULT_MODELS`` (the model each kind uses when none is given) is defined with the
config type in :mod:`gome_es.core.events`, which fills it into the recorded config;
it is re-exported here beside the factory that builds the reasoner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.events import DEFAULT_MODELS
from ..core.reasoner import Reasoner
from ..errors import ReasonerError

if TYPE_CHECKING:
    from ..store import EventStore

__all__ = ["DEFAULT_MODELS", "make_reasoner"]


def make_reasoner(cfg: dict[str, Any], store: EventStore) -> Reasoner:
    """The reasoner for ``cfg`` (a recorded ``ReasonerConfig`` as a dict, overrides applied).

    ``store``: where a ``replay`` reasoner reads the answers of ``cfg["replay_from"]``.
    Raises :class:`ReasonerError` for an unknown kind or a replay without its source run.
    """
    # each kind is imported only when chosen: the openai client takes a second to import,
    # and `gome --help` and offline runs never need it
    kind = cfg.get("kind", "offline")
    if kind == "offline":
        from .offline import OfflineReasoner  # lazy: each kind loads only when chosen

        return OfflineReasoner()
    if kind == "openai":
        from .openai_reasoner import OpenAIReasoner  # lazy: the openai client takes a second to import

        model = cfg.get("model") or DEFAULT_MODELS["openai"]
        given = None
        if cfg.get("price_in") is not None and cfg.get("price_out") is not None:
            given = {model: (float(cfg["price_in"]), float(cfg["price_out"]))}
        return OpenAIReasoner(model=model, base_url=cfg.get("base_url"), pricing=given)
    if kind == "replay":
        from .replay_reasoner import ReplayReasoner  # lazy: each kind loads only when chosen

        if not cfg.get("replay_from"):
            raise ReasonerError("--reasoner replay needs --replay-from RUN (the run whose answers to serve)")
        return ReplayReasoner(store, cfg["replay_from"])
    raise ReasonerError(f"unknown reasoner {kind!r}; use offline, openai or replay")
