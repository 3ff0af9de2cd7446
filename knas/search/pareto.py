"""Accuracy–latency fronts: which cells are not dominated, which k a fine stage spends its
budget on, and how close a found front is to the true one.

A point is (quality, latency): higher quality and lower latency are better. Quality is whatever
a stage knows: a proxy's score (the coarse stage), a looked-up or trained accuracy (the fine
stage), a strategy's reward; the found front is then judged by its cells' *true* accuracy.
Hypervolume and IGD are pymoo's (Blank & Deb, pymoo, IEEE Access 2020), on objectives
normalised by the true front's extent (accuracy: best 0, worst 1; latency: fastest 0, slowest 1),
hypervolume against the reference point (1.1, 1.1) and reported as a fraction of the true
front's own. Torch-free; pymoo is imported only to compute the indicators.
"""
from __future__ import annotations

import math

import numpy as np

REFERENCE = 1.1  # reference point on both normalised objectives


def front(points: dict[int, tuple[float, float]]) -> list[int]:
    """The non-dominated cells, fastest first (a NaN quality or latency is never on it; of
    equal points the lower index stays)."""
    usable = sorted((lat, -q, i) for i, (q, lat) in points.items()
                    if math.isfinite(q) and math.isfinite(lat))
    kept, best = [], -math.inf
    for lat, neg_q, index in usable:
        if -neg_q > best:
            kept.append(index)
            best = -neg_q
    return kept


def select(points: dict[int, tuple[float, float]], k: int) -> list[int]:
    """``k`` cells to spend a fine stage on: whole non-dominated layers, best layer first
    (NSGA-II's sorting), the last layer thinned evenly along its latency."""
    left, chosen = dict(points), []
    while left and len(chosen) < k:
        layer = front(left)
        if not layer:
            break
        room = k - len(chosen)
        if len(layer) > room:
            positions = np.linspace(0, len(layer) - 1, room).round().astype(int)
            layer = [layer[p] for p in dict.fromkeys(positions.tolist())]
        chosen.extend(layer)
        for index in layer:
            left.pop(index)
    return chosen


def _normalised(points: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(accuracy, latency) rows -> two objectives to minimise, scaled by the true front."""
    acc_best, acc_worst = true[:, 0].max(), true[:, 0].min()
    lat_best, lat_worst = true[:, 1].min(), true[:, 1].max()
    acc_span = (acc_best - acc_worst) or 1.0
    lat_span = (lat_worst - lat_best) or 1.0
    return np.column_stack([(acc_best - points[:, 0]) / acc_span,
                            (points[:, 1] - lat_best) / lat_span])


def indicators(found: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """(hypervolume as a fraction of the true front's, IGD) of a found front of (accuracy,
    latency) rows against the true front's rows. NaN, NaN when either is empty."""
    found = np.asarray(found, dtype=float).reshape(-1, 2)
    true = np.asarray(true, dtype=float).reshape(-1, 2)
    found = found[np.isfinite(found).all(axis=1)]
    if not len(found) or not len(true):
        return math.nan, math.nan
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd import IGD

    f, t = _normalised(found, true), _normalised(true, true)
    hv = HV(ref_point=np.full(2, REFERENCE))
    return float(hv(f) / hv(t)), float(IGD(t)(f))
