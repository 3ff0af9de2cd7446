"""Zen-score: how much the pre-pooling feature map moves under a small Gaussian input perturbation,
with the BatchNorm scaling the normalisation removed.

Lin et al., Zen-NAS, ICCV 2021; official code github.com/idstcv/ZenNAS,
ZeroShotProxy/compute_zen_score.py (``compute_nas_score``), as evolution_search.py calls it
(repeat=1, gamma=1e-2, a fresh network in training mode). On a copy of the network with every
conv/linear weight drawn from N(0, 1) and BatchNorm at weight 1, bias 0, fresh running statistics:

    zen = log( mean_b sum_{c,h,w} |f(z) - f(z + gamma * e)| ) + sum_BN log sqrt(mean(running_var))

with z, e standard Gaussian images (the score is data-free: ``x`` only gives the shape), f the
feature map before global pooling (``net.pre_pool``; NAS-Bench-201: stem, cells, final BN-ReLU),
and the sum over every BatchNorm of the network after the two forward passes (momentum 0.1, as
the official).
NAS-Bench-201 keeps its skip connections (the official scores its own space with residual links
removed; here skip connections are an op of the cell) and its BN eps (1e-5, the official sets 1e-3).
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn


def zen(net, x, y, gamma: float = 1e-2, repeat: int = 1, seed: int = 0) -> float:
    """Mean Zen-score over ``repeat`` Gaussian draws of weights and inputs; -inf when the feature
    map ignores its input (every path cut by ``none`` ops)."""
    gen = torch.Generator().manual_seed(seed)
    scores = []
    for _ in range(repeat):
        model = _gaussian_copy(net, gen)
        z = torch.randn(x.shape, generator=gen).to(device=x.device, dtype=x.dtype)
        e = torch.randn(x.shape, generator=gen).to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            moved = (model.pre_pool(z) - model.pre_pool(z + gamma * e)).abs()
        distance = float(moved.sum(dim=tuple(range(1, moved.dim()))).mean())
        bn_scale = sum(0.5 * math.log(float(m.running_var.mean()))
                       for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
        scores.append((math.log(distance) if distance > 0 else -math.inf) + bn_scale)
    return sum(scores) / repeat


def _gaussian_copy(net, gen: torch.Generator) -> nn.Module:
    model = copy.deepcopy(net).train()
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.reset_running_stats()
    return model
