"""MeCo (Jiang et al., NeurIPS 2023): the minimum eigenvalue of the channel correlation matrix of
each layer's feature map on one image, summed over layers.

As the official NAS-Bench-201 code (github.com/HamsterMimi/MeCo, ``correlation/NAS_Bench_201.py``
``get_score`` with ``--measure meco``, ``--batch_size 1``): one real image (the batch's first), the
network as built in training mode, a forward hook on every module; each hook takes the output's
first sample (c, h, w), correlates its c channels over the h·w positions, sets NaN/inf entries
(constant channels) to 0 and adds the least eigenvalue. Outputs with one position (pooled
features, logits) contribute 0. The official model (``correlation/foresight/models/nasbench2.py``)
nests modules differently from ``knas.nets``, so one feature map is hooked several times there;
``official_multiplicity`` gives each of our modules that count, so the sums are the same.
The ``meco_opt`` variant (8 random channels, scaled by c/8) is not implemented.
"""
from __future__ import annotations

import torch
from torch import nn

from ..nets import AvgPool3x3, Cell, ReLUConvBN, ResidualReduction


def meco(net, x, y) -> float:
    net.train()
    values: list[tuple[int, float]] = []

    def hook_for(count):
        return lambda module, inputs, output: values.append((count, least_eigenvalue(output[0])))

    handles = [m.register_forward_hook(hook_for(count))
               for m, count in official_multiplicity(net).items()]
    try:
        with torch.no_grad():
            net(x[:1])
    finally:
        for h in handles:
            h.remove()
    return float(sum(count * value for count, value in values))


def least_eigenvalue(feature: torch.Tensor) -> float:
    """Least eigenvalue of the c x c correlation of a (c, ...) feature over its positions."""
    rows = feature.detach().reshape(feature.shape[0], -1).cpu().double()
    corr = torch.nan_to_num(torch.corrcoef(rows), nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def official_multiplicity(net) -> dict[nn.Module, int]:
    """How many modules of the official NAS-Bench-201 model output each of our modules' feature
    maps: its wrappers (ReLUConvBN, its Sequential, stem, POOLING, stage Sequentials) repeat the
    BN, pooling and stage-end outputs."""
    counts: dict[nn.Module, int] = {net.stem[0]: 1, net.stem[1]: 3, net.lastact[0]: 1, net.lastact[1]: 2}
    blocks = list(net.cells)
    for i, block in enumerate(blocks):
        next_block = blocks[i + 1] if i + 1 < len(blocks) else None
        stage_end = isinstance(block, Cell) and not isinstance(next_block, Cell)
        counts[block] = 2 if stage_end else 1
        for m in block.modules():
            if isinstance(m, ReLUConvBN):
                counts.update({m[0]: 1, m[1]: 1, m[2]: 3})
            elif isinstance(m, (nn.Identity, nn.AvgPool2d)):
                counts[m] = 1
            elif isinstance(m, AvgPool3x3):
                counts[m] = 2
        if isinstance(block, ResidualReduction):
            counts[block.downsample[1]] = 2
    return counts
