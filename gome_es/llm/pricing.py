"""What an LLM call cost: a small table of list prices and the arithmetic.

Prices are US dollars per million tokens (input, output), as published by
OpenAI in 2025.  They drift; a run that needs exact figures passes its own
table (``OpenAIReasoner(pricing=...)`` or ``--pricing``-style config), which
is merged over this one.  A model missing from the table (a local vLLM,
Ollama or llama.cpp model, or anything new) costs 0: an unknown price is
recorded as free rather than guessed.

Pure module: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

# model name (or prefix of a dated snapshot name) -> (input $/M tokens, output $/M tokens)
DEFAULT_PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


def price_for(
    model: str, table: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float]:
    """(input, output) dollars per million tokens for ``model``; (0, 0) if unknown.

    An exact name wins; otherwise the longest table entry that is a prefix of
    the name followed by ``-`` (so ``gpt-4o-2024-08-06`` is priced as
    ``gpt-4o`` but ``gpt-4o-mini`` is not mistaken for ``gpt-4o``).
    """
    prices = dict(DEFAULT_PRICES_PER_MILLION)
    if table:
        prices.update(table)
    if model in prices:
        return prices[model]
    best = ""
    for name in prices:
        if model.startswith(name + "-") and len(name) > len(best):
            best = name
    return prices[best] if best else (0.0, 0.0)


def cost_usd(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    table: Mapping[str, tuple[float, float]] | None = None,
) -> float:
    """Dollar cost of ``prompt_tokens`` in and ``completion_tokens`` out on ``model``."""
    per_in, per_out = price_for(model, table)
    return (prompt_tokens * per_in + completion_tokens * per_out) / 1_000_000
