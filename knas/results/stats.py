"""Rank statistics between proxy scores and ground truth, and rank aggregation of proxies.

Every ranking honours a proxy's direction from the catalogue: scores are oriented (negated when
smaller is better) before they are ranked or correlated, so a good proxy always has a positive ρ
and the top of a ranking is always the cells the proxy likes best. Torch-free, used by the UI.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _scipy

from knas import proxies


def _paired(scores, truth) -> tuple[np.ndarray, np.ndarray]:
    """Drop pairs where either side is missing. Infinite scores stay: -inf is a proxy's way of
    saying "worst" (NASWOT's log-det of a singular kernel), and ranks handle it."""
    a = np.asarray(scores, dtype=float)
    b = np.asarray(truth, dtype=float)
    keep = ~np.isnan(a) & ~np.isnan(b)
    return a[keep], b[keep]


def spearman(scores, truth) -> float:
    a, b = _paired(scores, truth)
    return float(_scipy.spearmanr(a, b).statistic) if len(a) > 2 else math.nan


def kendall(scores, truth) -> float:
    a, b = _paired(scores, truth)
    return float(_scipy.kendalltau(a, b).statistic) if len(a) > 2 else math.nan


def top_overlap(scores, truth, fraction: float = 0.1) -> float:
    """Share of the truly best ``fraction`` of cells that the proxy also ranks in its top ``fraction``."""
    a, b = _paired(scores, truth)
    k = max(1, int(round(len(a) * fraction)))
    if len(a) == 0:
        return math.nan
    top_proxy = set(np.argsort(-a, kind="stable")[:k])
    top_truth = set(np.argsort(-b, kind="stable")[:k])
    return len(top_proxy & top_truth) / k


def oriented(frame: pd.DataFrame, column: str) -> pd.Series:
    """A score column turned so that bigger is better (see ``proxies.oriented``)."""
    values = frame[column].astype(float)
    return proxies.oriented(column, values)


def rank_ensemble(frame: pd.DataFrame, columns) -> pd.Series:
    """Mean rank (as a fraction, bigger is better) of each row across the given proxy columns."""
    columns = list(columns)
    if not columns:
        raise ValueError("a rank ensemble needs at least one proxy")
    ranks = pd.DataFrame({c: oriented(frame, c).rank(pct=True) for c in columns})
    return ranks.mean(axis=1)


def log_rank(frame: pd.DataFrame, columns) -> pd.Series:
    """AZ-NAS's non-linear rank aggregation: Σ_k log(rank_k / N), ranks ascending (the best cell of
    a proxy has rank N, so log 0) with ties averaged; a missing score ranks worst. One proxy that
    ranks a cell near the bottom costs it much more than a mean of ranks would."""
    columns = list(columns)
    if not columns:
        raise ValueError("a rank aggregation needs at least one proxy")
    n = len(frame)
    ranks = pd.DataFrame({c: oriented(frame, c).rank(method="average", na_option="top")
                          for c in columns})
    return np.log(ranks / n).sum(axis=1)


def geometric_mean_rank(frame: pd.DataFrame, columns) -> pd.Series:
    """The geometric mean of the members' rank fractions (rank / N), in (0, 1]: the same order as
    ``log_rank`` (it is exp(log_rank / k)), on a scale that reads like the mean rank."""
    return np.exp(log_rank(frame, columns) / len(list(columns)))


_AGGREGATORS = {"ensemble": rank_ensemble, "logrank": log_rank, "geomean": geometric_mean_rank}


def aggregate(frame: pd.DataFrame, method) -> pd.Series:
    """The ranking score of a ``specs.Method`` over a frame of its members' scores (bigger is
    better): the oriented score itself for one proxy, the members' aggregate otherwise."""
    if not method.aggregation:
        return oriented(frame, method.members[0])
    return _AGGREGATORS[method.aggregation](frame, method.members)


def correlation_table(frame: pd.DataFrame, names, truth: pd.Series) -> pd.DataFrame:
    """One row per proxy: Spearman rho, Kendall tau and top-10% overlap of its oriented score
    against ``truth``."""
    rows = []
    for name in names:
        scores = oriented(frame, name)
        rows.append({
            "proxy": name,
            "spearman": spearman(scores, truth),
            "kendall": kendall(scores, truth),
            "top10_overlap": top_overlap(scores, truth),
            "n": len(_paired(scores, truth)[0]),
        })
    return pd.DataFrame(rows)
