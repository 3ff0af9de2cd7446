"""Published results to set measured ones against: the test accuracy (mean ± std over runs) of
the cell each method found, per data set, with where each figure comes from and how it was
checked; search seconds where a source gives them. A space publishes its own rows
(``SearchSpace.published``; NAS-Bench-201's are ``knas.spaces.nb201.published``). Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Reference:
    method: str
    dataset: str  # a knas.data.datasets name
    test_mean: float  # test accuracy, percent (NAS-Bench-201: after 200 epochs)
    test_std: float | None  # None where the source gives none
    source: str
    checked: str
    search_seconds: float | None = None  # the method's published search cost, where known


def find(space, method: str | None = None, dataset: str | None = None) -> list[Reference]:
    """A space's published rows for a method and/or data set (all of them when both are None)."""
    return [r for r in space.published
            if (method is None or r.method == method) and (dataset is None or r.dataset == dataset)]


def table(rows) -> pd.DataFrame:
    """References as a table for people: method, dataset, accuracy, search seconds, source."""
    return pd.DataFrame([{
        "method": r.method, "dataset": r.dataset,
        "test accuracy": f"{r.test_mean:.2f}" + (f" ± {r.test_std:.2f}" if r.test_std is not None
                                                  else ""),
        "search s": r.search_seconds, "source": r.source, "checked": r.checked} for r in rows])
