"""Gradient plumbing shared by the gradient-based proxies."""
from __future__ import annotations

import contextlib
import math
import types

import torch
import torch.nn.functional as F
from torch import nn

from knas.proxies import ProxyNotApplicable
from knas.search.specs import ParamSelection, SpecError

_ATTENTION_WEIGHTS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")


def scored_weights(net: nn.Module) -> list[torch.Tensor]:
    """The weights zero-cost proxies score, in module order: every trainable convolution's and
    linear layer's weight (zero-cost-nas scores Conv2d and Linear; 1-D, 3-D and transposed
    convolutions and attention's projections are the same kind of weight). A network with other
    trainable weight matrices (an embedding table, a recurrent layer) is refused, naming them:
    a score must never skip layers silently."""
    weights = []
    for m in net.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            weights.append(m.weight)
        elif isinstance(m, nn.MultiheadAttention):  # its out_proj is a Linear, met on its own
            weights += [getattr(m, name) for name in _ATTENTION_WEIGHTS
                        if getattr(m, name, None) is not None]
    weights = [w for w in weights if w.requires_grad]
    covered = {id(w) for w in weights}
    skipped = [f"{name} {tuple(p.shape)}" for name, p in net.named_parameters()
               if p.requires_grad and p.dim() >= 2 and id(p) not in covered]
    if skipped:
        raise ProxyNotApplicable(
            f"this proxy scores convolution, linear and attention weights; the network also "
            f"trains {', '.join(skipped[:3])}{' …' if len(skipped) > 3 else ''}, which it would "
            "skip: freeze those (requires_grad=False) or choose a proxy that reads all weights "
            "(mgm, grad-based Gram statistics)")
    return weights


def weights_with_grads(net: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, gradient) of each scored weight after a backward pass; a weight the loss does
    not reach (cut off by `none` cells) has gradient zero."""
    return [(w.detach(), w.grad if w.grad is not None else torch.zeros_like(w))
            for w in scored_weights(net)]


def select_params(net: nn.Module, spec="all") -> list[torch.Tensor]:
    """Parameters by a ``specs.ParamSelection`` (or its text): all, or the first L tensors (in
    registration order) that have at least m elements, as KNAS's code selects them."""
    selection = ParamSelection.parse(spec)
    params = [p for p in net.parameters() if p.requires_grad]
    if selection.is_all:
        return params
    chosen = [p for p in params if p.numel() >= selection.elements][:selection.layers]
    if not chosen:  # every gradient statistic would be 0: a value that cannot be right
        raise SpecError(f"parameter selection {selection} selects no weights: no parameter tensor "
                        f"of this network has {selection.elements} elements (the largest has "
                        f"{max(p.numel() for p in params)}); choose a smaller m")
    return chosen


def elements_per_tensor(spec="all") -> int | None:
    """How many leading elements of each selected tensor a selection keeps (None: all)."""
    selection = ParamSelection.parse(spec)
    return None if selection.is_all else selection.elements


def flat_grad(params: list[torch.Tensor], spec: str = "all") -> torch.Tensor:
    """Concatenated gradients (zeros where a parameter got none), cut to the spec's m elements."""
    n_elems = elements_per_tensor(spec)
    parts = []
    for p in params:
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        parts.append(g.reshape(-1)[:n_elems])
    return torch.cat(parts)


def _batchnorm_per_sample(bn, x: torch.Tensor) -> torch.Tensor:
    # BatchNorm in training mode on a batch of one normalises each channel over its positions
    # (H x W, or a sequence): that is instance normalisation with BN's affine parameters.
    if x.dim() < 3:
        raise ProxyNotApplicable(
            f"{type(bn).__name__} over flat features ({tuple(x.shape)}) normalises each feature "
            "across the samples of a batch, and a batch of one cannot be normalised, so the "
            "per-sample gradients MGM and the Gram matrix need are undefined for this network")
    return F.instance_norm(x, weight=bn.weight, bias=bn.bias, eps=bn.eps)


def _identity(bn, x: torch.Tensor) -> torch.Tensor:
    return x


@contextlib.contextmanager
def restored(net: nn.Module):
    """Let a proxy change a network in place (re-initialise it, take |w|, cast it to float64)
    and put every parameter and buffer back exactly afterwards, with its dtype, the training
    flag and no gradients: the same as working on ``copy.deepcopy(net)``, whose Python-level walk
    of every module cost more than some proxies' whole pass (docs/benchmarks.md)."""
    tensors = [*net.named_parameters(), *net.named_buffers()]
    saved = {name: t.detach().clone() for name, t in tensors}
    training = net.training
    try:
        yield net
    finally:
        with torch.no_grad():
            for name, t in [*net.named_parameters(), *net.named_buffers()]:
                t.data = saved[name]
        net.zero_grad(set_to_none=True)
        net.train(training)


@contextlib.contextmanager
def _batchnorm_replaced(net: nn.Module, forward):
    """Every BatchNorm (1-D, 2-D, 3-D) of ``net`` runs ``forward(bn, x)`` inside the block, as
    before after it."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.forward = types.MethodType(forward, bn)
    try:
        yield net
    finally:
        for bn in bns:
            del bn.forward


def per_sample_batchnorm(net: nn.Module):
    """Make every BatchNorm normalise each sample on its own, as a batch of size 1 would."""
    return _batchnorm_replaced(net, _batchnorm_per_sample)


def batchnorm_off(net: nn.Module):
    """Make every BatchNorm the identity (SynFlow's data-free setting in zero-cost-nas)."""
    return _batchnorm_replaced(net, _identity)


def gram_of_blocks(blocks) -> torch.Tensor:
    """``sum_t B_t B_t^T`` in float64 over blocks ``B_t`` (n x k_t, one per parameter tensor): the
    Gram matrix of the rows of ``[B_1 ... B_T]`` without concatenating them."""
    total = None
    for block in blocks:
        b = block.reshape(block.shape[0], -1).double()
        total = b @ b.T if total is None else total.add_(b @ b.T)
    return total


def condition_number(gram: torch.Tensor) -> float:
    """``lambda_max / lambda_min`` of a positive semi-definite matrix, or +inf when it is singular
    to float64 precision (``lambda_min <= n * eps * lambda_max``, an all-zero matrix included):
    a kernel that cannot tell samples apart ranks worst."""
    eig = torch.linalg.eigvalsh(gram.double())
    top, bottom = float(eig[-1]), float(eig[0])
    if top <= 0 or bottom <= gram.shape[0] * torch.finfo(torch.float64).eps * top:
        return math.inf
    return top / bottom
