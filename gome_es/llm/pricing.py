"""What an LLM call cost: a small table of list prices and the arithmetic.

Prices are US dollars per million tokens (input, output), as published by
OpenAI in 2025.  They drift; a run that needs exact figures gives its own
(``gome run --price-in/--price-out``, ``OpenAIReasoner(pricing=...)``), which
wins over this table.  The table applies only to OpenAI's own endpoint: a model
served elsewhere (a local vLLM, Ollama or llama.cpp server, Azure, a proxy) or
missing from the table has no known price, and its cost is recorded as null,
neither guessed nor claimed free.

Pure module: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

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


OPENAI_HOSTS = ("api.openai.com",)


def known_price(
    model: str, base_url: str | None, given: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """(input, output) $/M tokens when known: given for this model, or OpenAI's list price on
    OpenAI's own endpoint; None otherwise."""
    if given and model in given:
        return given[model]
    host = (urlsplit(base_url or "https://api.openai.com/v1").hostname or "").lower()
    if host not in OPENAI_HOSTS:
        return None
    price = price_for(model)
    return price if price != (0.0, 0.0) else None


def cost_usd(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    table: Mapping[str, tuple[float, float]] | None = None,
    base_url: str | None = None,
) -> float | None:
    """Dollar cost of ``prompt_tokens`` in and ``completion_tokens`` out on ``model`` at
    ``base_url`` (default OpenAI's), or None when the price is not known (see the module doc)."""
    price = known_price(model, base_url, table)
    if price is None:
        return None
    per_in, per_out = price
    return (prompt_tokens * per_in + completion_tokens * per_out) / 1_000_000
