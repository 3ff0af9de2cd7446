"""The Gram matrix of per-sample loss gradients, KNAS's object, and three scores read from it.

``G = g g^T`` with ``g`` the (n, P) matrix of single-sample cross-entropy gradients (per-sample
BatchNorm as in ``mgm``); ``mean(G)`` is MGM (Xu et al., KNAS, ICML 2021). From one exact
vectorised computation of G (``mgm.per_sample_grad_blocks``, accumulated one parameter tensor at a
time in float64):

- ``gram_trace`` = trace(G) / n, the mean squared per-sample gradient norm;
- ``gram_cond`` = lambda_max / lambda_min of G, TE-NAS's NTK condition number on loss gradients
  (smaller is better; +inf when G is singular, e.g. a cell whose gradients span fewer than n
  directions);
- ``gram_coherence`` = mean(G) / mean(diag G) = ||mean_i g_i||^2 / mean_i ||g_i||^2, in [0, 1]: how
  much the samples' gradients agree, free of their scale (0 when every gradient is zero).
"""
from __future__ import annotations

import torch

from knas.proxies._grads import condition_number, gram_of_blocks
from knas.proxies.mgm import per_sample_grad_blocks


def gram_matrix(net, x, y, params: str = "all") -> torch.Tensor:
    """The n x n Gram matrix of per-sample gradients, float64 (for the Explorer's heatmap)."""
    return gram_of_blocks(per_sample_grad_blocks(net, x, y, params))


def gram(net, x, y, params: str = "all") -> dict[str, float]:
    return statistics(gram_matrix(net, x, y, params))


def statistics(g: torch.Tensor) -> dict[str, float]:
    """The three scores of a Gram matrix."""
    mean_sq_norm = float(g.diagonal().mean())
    return {
        "gram_trace": mean_sq_norm,
        "gram_cond": condition_number(g),
        "gram_coherence": float(g.mean()) / mean_sq_norm if mean_sq_norm > 0 else 0.0,
    }
