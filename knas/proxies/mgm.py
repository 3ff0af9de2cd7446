"""MGM, the KNAS paper's score: the mean of the Gram matrix of per-sample loss gradients.

``MGM = (1/n²) Σ_i Σ_j <g_i, g_j> = ||(1/n) Σ_i g_i||²``. With every sample normalised on its
own (batch size 1, BatchNorm in training mode, as KNAS's configs run), the loss of a batch is
the sum of independent per-sample losses, so one batched backward pass of the mean loss gives
``(1/n) Σ g_i`` exactly, and its squared norm is MGM. ``mgm_literal`` is the n-pass definition.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._grads import flat_grad, per_sample_batchnorm, select_params


def mgm(net, x, y, params: str = "all", chunk: int | None = None) -> float:
    """MGM in one batched pass (or in chunks of ``chunk`` samples; exact either way)."""
    net.train()
    net.zero_grad(set_to_none=True)
    n = x.shape[0]
    step = chunk or n
    with per_sample_batchnorm(net):
        for start in range(0, n, step):
            logits = net(x[start:start + step])
            loss = F.cross_entropy(logits, y[start:start + step], reduction="sum") / n
            loss.backward()
    mean_grad = flat_grad(select_params(net, params), params)
    return float(mean_grad.double().pow(2).sum())


def per_sample_grads(net, x, y, params: str = "all") -> torch.Tensor:
    """(n, P) matrix of single-sample gradients, one forward and backward pass per sample."""
    net.train()
    rows = []
    for i in range(x.shape[0]):
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x[i:i + 1]), y[i:i + 1]).backward()
        rows.append(flat_grad(select_params(net, params), params).clone())
    return torch.stack(rows)


def mgm_literal(net, x, y, params: str = "all") -> float:
    """MGM by its definition: n separate passes, the n x n Gram matrix, its mean."""
    g = per_sample_grads(net, x, y, params)
    return float((g @ g.T).mean())
