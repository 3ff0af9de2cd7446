"""MeCo (Jiang et al., NeurIPS 2023): the minimum eigenvalue of the channel correlation matrix of
each layer's feature map on one image, summed over layers.

As the official NAS-Bench-201 code (github.com/HamsterMimi/MeCo, ``correlation/NAS_Bench_201.py``
``get_score`` with ``--measure meco``, ``--batch_size 1``): one real image (the batch's first), the
network as built in training mode, a forward hook on every module; each hook takes the output's
first sample (c, h, w), correlates its c channels over the h·w positions, sets NaN/inf entries
(constant channels) to 0 and adds the least eigenvalue. Outputs with one position (pooled
features, logits) contribute 0. The official model (``correlation/foresight/models/nasbench2.py``)
nests modules differently from ``knas.spaces.nb201.nets``, so one feature map is hooked several times there;
the network's ``meco_multiplicity`` gives each of our modules that count, so the sums are the same.
The ``meco_opt`` variant (8 random channels, scaled by c/8) is not implemented.
"""
from __future__ import annotations

import torch


def meco(net, x, y) -> float:
    net.train()
    values: list[tuple[int, float]] = []

    def hook_for(count):
        def hook(module, inputs, output):
            if torch.is_tensor(output):  # modules that return tuples (attention) are read inside
                values.append((count, least_eigenvalue(output[0])))
        return hook

    handles = [m.register_forward_hook(hook_for(count)) for m, count in multiplicity(net).items()]
    try:
        with torch.no_grad():
            net(x[:1])
    finally:
        for h in handles:
            h.remove()
    return float(sum(count * value for count, value in values))


def multiplicity(net) -> dict:
    """Each hooked module and how often its output counts: every module of the network once (the
    official code hooks every module), or, for a network modelled on an official one whose modules
    nest differently, the official count (``net.meco_multiplicity()``)."""
    if hasattr(net, "meco_multiplicity"):
        return net.meco_multiplicity()
    return dict.fromkeys(net.modules(), 1)


def least_eigenvalue(feature: torch.Tensor) -> float:
    """Least eigenvalue of the c x c correlation of a (c, ...) feature over its positions."""
    rows = feature.detach().reshape(feature.shape[0], -1).cpu().double()
    if rows.shape[1] < 2:  # one position: no correlation to read (the matrix would be all NaN)
        return 0.0
    corr = torch.nan_to_num(torch.corrcoef(rows), nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])
