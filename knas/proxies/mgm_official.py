"""The statistic the official KNAS code computes (reproduction mode, not the paper's MGM).

KNAS's ``procedure`` keeps single-sample gradients of 50 samples for the first 11 parameter
tensors that have at least 50 elements (their first 50 elements), then sums over elements the
product of the centred gradients of samples 0-24 and samples 25-49, divided by 2500. Centring
removes the mean gradient, which is exactly what the paper's MGM measures, so this statistic
is a covariance between two halves of the batch and sits near zero.
"""
from __future__ import annotations

from knas.proxies.mgm import per_sample_grads_vmap

OFFICIAL_PARAMS = "first:11:50"


def mgm_official(net, x, y, params: str = OFFICIAL_PARAMS) -> float:
    n = x.shape[0]
    if n < 2 or n % 2:
        raise ValueError(f"mgm_official needs an even number of samples (official: 50), got {n}")
    g = per_sample_grads_vmap(net, x, y, params).double()
    first, second = g[: n // 2], g[n // 2:]
    first = first - first.mean(0)
    second = second - second.mean(0)
    return float((first * second).sum() / 2500)
