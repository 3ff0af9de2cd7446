"""MGM, the KNAS paper's score: the mean of the Gram matrix of per-sample loss gradients.

``MGM = (1/n²) Σ_i Σ_j <g_i, g_j> = ||(1/n) Σ_i g_i||²``. With every sample normalised on its
own (batch size 1, BatchNorm in training mode, as KNAS's configs run), the loss of a batch is
the sum of independent per-sample losses, so one batched backward pass of the mean loss gives
``(1/n) Σ g_i`` exactly, and its squared norm is MGM. ``mgm_literal`` is the n-pass definition.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from knas.proxies._grads import elements_per_tensor, flat_grad, per_sample_batchnorm, select_params


def mgm(net, x, y, params: str = "all", chunk: int | None = None) -> float:
    """MGM in one batched pass (or in chunks of ``chunk`` samples; exact either way)."""
    return float(mgm_tensor(net, x, y, params, chunk))


def mgm_tensor(net, x, y, params: str = "all", chunk: int | None = None) -> torch.Tensor:
    """MGM as a 0-dim float64 tensor on the network's device. Nothing here waits for the device,
    so on a GPU several networks can be in flight (``knas.scoring.multinet``); ``mgm`` reads it out."""
    net.train()
    net.zero_grad(set_to_none=True)
    n = x.shape[0]
    step = chunk or n
    with per_sample_batchnorm(net):
        for start in range(0, n, step):
            logits = net(x[start:start + step])
            loss = F.cross_entropy(logits, y[start:start + step], reduction="sum") / n
            loss.backward()
    n_elems = elements_per_tensor(params)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for p in select_params(net, params):
        if p.grad is not None:
            total = total + p.grad.reshape(-1)[:n_elems].double().pow(2).sum()
    return total


def per_sample_grads(net, x, y, params: str = "all") -> torch.Tensor:
    """(n, P) matrix of single-sample gradients, one forward and backward pass per sample
    (the literal definition; ``per_sample_grads_vmap`` gets the same in one vectorised pass)."""
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


def per_sample_grad_blocks(net, x, y, params: str = "all") -> list[torch.Tensor]:
    """Single-sample gradients in one vectorised pass (torch.func), one (n, k) block per selected
    parameter tensor; equal to the n-pass loop because each sample is normalised on its own."""
    from torch.func import functional_call, grad, vmap

    net.train()
    chosen = {id(p) for p in select_params(net, params)}
    names = [name for name, p in net.named_parameters() if id(p) in chosen]
    weights = {name: p.detach() for name, p in net.named_parameters() if id(p) in chosen}
    frozen = {name: p.detach() for name, p in net.named_parameters() if id(p) not in chosen}
    buffers = dict(net.named_buffers())

    def loss(w, xi, yi):
        out = functional_call(net, ({**frozen, **w}, buffers), (xi[None],))
        return F.cross_entropy(out, yi[None])

    with per_sample_batchnorm(net):
        grads = vmap(grad(loss), in_dims=(None, 0, 0))(weights, x, y)
    n_elems = elements_per_tensor(params)
    return [grads.pop(name).reshape(x.shape[0], -1)[:, :n_elems] for name in names]


def per_sample_grads_vmap(net, x, y, params: str = "all") -> torch.Tensor:
    """(n, P) single-sample gradients in one vectorised pass (see ``per_sample_grad_blocks``)."""
    return torch.cat(per_sample_grad_blocks(net, x, y, params), dim=1)
