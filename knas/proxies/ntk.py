"""TE-NAS trainability indicator: the condition number of the empirical NTK on one batch.

Chen, Gong, Wang, ICLR 2021; official code github.com/VITA-Group/TENAS, lib/procedures/ntk.py
(``get_ntk_n``, called by prune_tenas.py with ``train_mode=True, num_batch=1``). Row i of J is the
gradient of the sum of sample i's logits with respect to every parameter whose name contains
``weight`` (conv, BatchNorm scale and linear weights; no biases), taken from ONE forward pass of
the whole batch with BatchNorm on batch statistics (so each row depends on the whole batch).
NTK = J J^T (n x n); the score is lambda_max / lambda_min, smaller is better.
"""
from __future__ import annotations

import torch

from knas.proxies._grads import condition_number, gram_of_blocks


def ntk_matrix(net, x) -> torch.Tensor:
    """The n x n empirical NTK in float64: one backward pass per sample through the batch graph."""
    net.train()
    weights = [p for name, p in net.named_parameters() if "weight" in name and p.requires_grad]
    logits = net(x)
    rows: list[list[torch.Tensor]] = [[] for _ in weights]
    n = x.shape[0]
    for i in range(n):
        grads = torch.autograd.grad(logits[i].sum(), weights, retain_graph=i + 1 < n,
                                    allow_unused=True)
        for tensor_rows, g in zip(rows, grads):
            if g is not None:  # a weight the logits never reach is skipped for every sample
                tensor_rows.append(g.reshape(-1))
    return gram_of_blocks(torch.stack(r) for r in rows if r)


def te_ntk_cond(net, x, y) -> float:
    """Condition number of the NTK; +inf when it is singular (no gradient reaches the weights)."""
    return condition_number(ntk_matrix(net, x))
