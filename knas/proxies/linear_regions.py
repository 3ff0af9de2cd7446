"""TE-NAS expressivity indicator: the number of linear regions a cell cuts its input space into.

Chen, Gong, Wang, ICLR 2021; official code github.com/VITA-Group/TENAS,
lib/procedures/linear_region_counter.py (``Linear_Region_Collector``, ``LinearRegionCount``) as
prune_tenas.py uses it for NAS-Bench-201: a thin network (the cell alone, 1 channel, no stem,
then BN-ReLU), Kaiming-normal fan-in weights, 1-channel 3x3 crops in 3 batches of 1000 (BN on
batch statistics), and the count of distinct activation patterns over all ReLUs, averaged over
3 fresh initialisations. Two samples share a linear region exactly when every ReLU agrees on them.

Crops come from the scoring batch ``x`` (distinct image/channel/position triples), not from
3000 separate training images as in the official loader.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from knas.proxies._patterns import count_distinct, pack_rows, relu_codes

CROP = 3


def te_linear_regions(net, x, y, samples: int = 3000, batch: int = 1000, repeat: int = 3,
                      seed: int = 0) -> float:
    """Mean number of distinct ReLU patterns of the thin cell over ``samples`` crops; at most
    ``samples``, and 1 for a cell whose every ReLU is always off."""
    gen = torch.Generator().manual_seed(seed)
    counts = []
    for _ in range(repeat):
        thin = thin_cell(net, gen).to(device=x.device, dtype=x.dtype)
        crops = random_crops(x, samples, gen)
        codes = [torch.cat(relu_codes(thin, part), dim=1) for part in crops.split(batch)]
        counts.append(count_distinct(pack_rows(torch.cat(codes))))
    return sum(counts) / repeat


def thin_cell(net, gen: torch.Generator) -> nn.Module:
    """The network's 1-channel cell with the head's BN-ReLU (``net.thin_cell()``), convs
    Kaiming-normal (fan-in, ReLU gain)."""
    model = net.thin_cell()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_in))
    return model.train()


def random_crops(x: torch.Tensor, samples: int, gen: torch.Generator) -> torch.Tensor:
    """``samples`` distinct single-channel CROP x CROP crops of the batch, shape (samples, 1, 3, 3)."""
    patches = x.unfold(2, CROP, 1).unfold(3, CROP, 1).reshape(-1, 1, CROP, CROP)
    if samples > len(patches):
        raise ValueError(f"asked for {samples} crops but the batch has only {len(patches)}")
    pick = torch.randperm(len(patches), generator=gen)[:samples].to(x.device)
    return patches[pick]
