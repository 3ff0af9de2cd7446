"""Binary ReLU activation patterns, shared by the activation-pattern proxies (SWAP, TE-NAS regions).

A unit's code for a sample is 1 when its ReLU fires (output > 0). Counting distinct patterns
packs the bits of each row into int64 words, so rows are compared as a few integers, not as
thousands of booleans.
"""
from __future__ import annotations

import torch
from torch import nn

_BITS = 62  # bits per packed word: stays clear of the int64 sign bit


def relu_codes(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """One bool tensor (n, units) per ReLU of ``net`` (a unit: one position of one channel, or one
    feature of a flat input), in call order, from one
    forward pass without gradients (in whatever train/eval mode the caller set)."""
    codes = []

    def hook(module, inputs, output):
        if inputs[0].dim() >= 2:
            codes.append((output.detach() > 0).reshape(x.shape[0], -1))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()
    return codes


def pack_rows(bits: torch.Tensor) -> torch.Tensor:
    """(rows, cols) bools -> (rows, words) int64, equal rows giving equal words."""
    words = [(part.long() << torch.arange(part.shape[1], device=bits.device)).sum(1)
             for part in bits.split(_BITS, dim=1)]
    return torch.stack(words, dim=1) if words else bits.new_zeros(bits.shape[0], 1, dtype=torch.long)


def count_distinct(packed: torch.Tensor) -> int:
    """Number of distinct rows of a packed code matrix (a lexicographic sort, then the number of
    changes between neighbours; much faster than ``torch.unique(dim=0)``)."""
    if len(packed) == 0:
        return 0
    order = torch.arange(len(packed), device=packed.device)
    for col in reversed(range(packed.shape[1])):
        order = order[torch.argsort(packed[order, col], stable=True)]
    ranked = packed[order]
    return 1 + int((ranked[1:] != ranked[:-1]).any(dim=1).sum())
