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


def bootstrap_interval(statistic, scores, truth, draws: int = 1000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval of ``statistic(scores, truth)``: cells resampled with
    replacement ``draws`` times (seeded), the middle ``level`` of the values. A small measured
    table's ρ is uncertain; this says how much."""
    a, b = _paired(scores, truth)
    if len(a) < 3:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = [statistic(a[idx], b[idx]) for idx in rng.integers(0, len(a), (draws, len(a)))]
    tail = (1 - level) / 2 * 100
    lo, hi = np.nanpercentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


NDCG_CUTOFF = 1000  # VKDNW's table reports nDCG@1000


def ndcg(scores, truth, k: int = NDCG_CUTOFF) -> float:
    """Normalised discounted cumulative gain of the top ``k`` of the ranking, as VKDNW (Tybl &
    Neumann, CVPR 2025, Table 1) computes it in its code: a cell's gain is 2^accuracy − 1 with
    the accuracy in percent, so a point of accuracy doubles it and the very best cells dominate;
    position i (from 1) is discounted by 1 / log2(i + 1); the sum is divided by that of the truly
    best order. Cells the proxy ties share their gains equally, so the figure does not depend on
    the order of the rows (VKDNW breaks ties arbitrarily). A ranking that is right only below
    the top earns little."""
    a, b = _paired(scores, truth)
    if len(a) == 0:
        return math.nan
    gain = np.exp2(b) - 1
    k = min(k, len(a))
    discount = 1 / np.log2(np.arange(2, len(a) + 2))
    ideal = float(np.sort(gain)[::-1][:k] @ discount[:k])
    # each distinct score, best first, spreads its cells' mean gain over the positions it holds
    _, inverse, counts = np.unique(-a, return_inverse=True, return_counts=True)
    mean_gain = np.bincount(inverse, weights=gain) / counts
    ends = np.cumsum(counts)
    cut = np.cumsum(np.where(np.arange(len(a)) < k, discount, 0.0))
    held = cut[ends - 1] - np.concatenate([[0.0], cut[ends[:-1] - 1]])
    return float(mean_gain @ held) / ideal if ideal > 0 else math.nan


def regret(scores, truth, k: int = 1) -> float:
    """How far below the best cell the best of the ranking's top ``k`` is (accuracy points): 0
    when the top k holds the optimum. Cells tied with the k-th score count as in the top k, so
    the figure does not depend on the order of the rows."""
    a, b = _paired(scores, truth)
    if len(a) == 0:
        return math.nan
    kth = np.sort(a)[::-1][min(k, len(a)) - 1]
    return float(b.max() - b[a >= kth].max())


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
    """One row per proxy, of its oriented score against ``truth``: Spearman rho and Kendall tau
    (the whole ranking), and what a search keeps of its top: nDCG, the share of the truly best
    1% / 5% / 10% it ranks in its own top 1% / 5% / 10% (precision = overlap when both sides
    keep as many), and the regret of its top-1 and of the best of its top-10."""
    rows = []
    for name in names:
        scores = oriented(frame, name)
        rows.append({
            "proxy": name,
            "spearman": spearman(scores, truth),
            "kendall": kendall(scores, truth),
            "ndcg": ndcg(scores, truth),
            "top1_precision": top_overlap(scores, truth, 0.01),
            "top5_precision": top_overlap(scores, truth, 0.05),
            "top10_overlap": top_overlap(scores, truth),
            "regret_top1": regret(scores, truth, 1),
            "regret_top10": regret(scores, truth, 10),
            "n": len(_paired(scores, truth)[0]),
        })
    return pd.DataFrame(rows)
