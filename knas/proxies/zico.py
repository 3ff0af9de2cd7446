"""ZiCo (Li et al., ICLR 2023): how large and how steady the gradients are across mini-batches.

``ZiCo = sum over conv/linear layers of log( sum over weights with std > 0 of mean|g| / std )``,
mean and (population) std of each weight's gradient taken over mini-batches, each gradient that of
the batch's mean cross-entropy; a layer whose sum is 0 is skipped. As the official code
(github.com/SLDGroup/ZiCo, ``ZeroShotProxy/compute_zico.py``: ``getgrad``, ``caculate_zico``),
which reads 2 batches from its loader (``--maxbatch 2``; the AZ-NAS repo's NAS-Bench-201 copy,
``NB201/ZeroShotProxy/compute_zico_score.py``, uses 2 batches of 64). Here the given batch is cut
into ``batches`` consecutive mini-batches (sizes differ by at most one).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from knas.errors import KnasError
from knas.proxies._grads import scored_weights


class ZiCoSamplesError(KnasError):
    pass


def zico(net, x, y, batches: int = 2) -> float:
    n = x.shape[0]
    if batches < 2 or n < batches:
        raise ZiCoSamplesError(
            f"ZiCo compares gradients across at least 2 mini-batches of at least one sample each; "
            f"got {n} sample(s) for {batches} mini-batches: use --n {max(batches, 2)} or more")
    net.train()
    weights = scored_weights(net)
    grads: list[list[torch.Tensor]] = [[] for _ in weights]
    for xb, yb in zip(x.tensor_split(batches), y.tensor_split(batches)):
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(xb), yb).backward()
        for per_layer, weight in zip(grads, weights):
            g = weight.grad  # None for a layer the loss does not reach: std 0, skipped
            per_layer.append(torch.zeros_like(weight) if g is None else g.detach().clone())
    score = 0.0
    for per_layer in grads:
        g = torch.stack([t.reshape(-1) for t in per_layer])
        std = g.std(dim=0, correction=0)
        varies = std > 0
        total = float((g.abs().mean(dim=0)[varies] / std[varies]).sum())
        if total > 0:
            score += math.log(total)
    return score
