"""An offline price table (USD per million tokens). Shipped with the code so costs need no network; an
operator can override it later with a file. Unknown models cost 0 and are reported as unpriced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float


# Prices as published by the vendors for these model families (per 1M tokens).
PRICES: dict[str, Price] = {
    "claude-opus-4": Price(15.0, 75.0, 1.50, 18.75),
    "claude-sonnet-4": Price(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4": Price(1.0, 5.0, 0.10, 1.25),
    "gpt-5-codex": Price(1.25, 10.0, 0.125, 0.0),
    "gpt-5": Price(1.25, 10.0, 0.125, 0.0),
}


def price_for(model: str) -> Price | None:
    """Longest matching family prefix, so dated ids (claude-sonnet-4-5-20250929) find their family."""
    best = None
    for family, price in PRICES.items():
        if model.startswith(family) and (best is None or len(family) > len(best[0])):
            best = (family, price)
    return best[1] if best else None


def cost_usd(model: str, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> float:
    price = price_for(model)
    if price is None:
        return 0.0
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_read * price.cache_read
        + cache_write * price.cache_write
    )
    return round(total / 1_000_000, 6)
