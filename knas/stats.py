"""Rank statistics between proxy scores and ground truth (torch-free, used by the UI too)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _scipy


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


def rank_ensemble(frame: pd.DataFrame, columns) -> pd.Series:
    """Mean rank (as a fraction, bigger is better) of each row across the given proxy columns."""
    columns = list(columns)
    if not columns:
        raise ValueError("a rank ensemble needs at least one proxy")
    return frame[columns].rank(pct=True).mean(axis=1)


def correlation_table(frame: pd.DataFrame, proxies, truth: pd.Series) -> pd.DataFrame:
    """One row per proxy: Spearman rho, Kendall tau and top-10% overlap against ``truth``."""
    rows = []
    for name in proxies:
        rows.append({
            "proxy": name,
            "spearman": spearman(frame[name], truth),
            "kendall": kendall(frame[name], truth),
            "top10_overlap": top_overlap(frame[name], truth),
            "n": len(_paired(frame[name], truth)[0]),
        })
    return pd.DataFrame(rows)
