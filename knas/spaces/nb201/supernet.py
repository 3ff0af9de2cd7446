"""NAS-Bench-201's supernet: every op on every edge, mixed by per-edge weights, for the one-shot
searches (``knas.oneshot``).

The skeleton is the benchmark network's (stem, three stages of ``n_cells`` cells joined by residual
reductions, BN-ReLU, pooling, linear head; ``knas.spaces.nb201.nets``). Inside a cell, edge e's
output is ``sum_o mix[e, o] * op_o(x)`` over the op catalogue ``cells.OPS``: DARTS sets ``mix`` to
a softmax of its architecture parameters, TE-NAS to a mask of the ops it has not pruned. With
``chosen`` set (GDAS), edge e runs only op ``chosen[e]`` and adds the other ops' weights as values
(zero in a one-hot straight-through sample; they carry its gradient), as GDAS's official search
model does. Every cell of the network shares one ``mix``, as in NAS-Bench-201's search models.

As in DARTS's and NAS-Bench-201's search cells, the cells' BatchNorms have no affine parameters
and always normalise with the batch's statistics (``affine=False, track_running_stats=False``):
an op's scale is then the architecture weight's alone.
"""
from __future__ import annotations

import torch
from torch import nn

from knas.spaces.nb201 import cells as space
from knas.spaces.nb201.nets import ResidualReduction, make_op


def _search_op(name: str, channels: int) -> nn.Module:
    op = make_op(name, channels)
    for parent in op.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, child_name, nn.BatchNorm2d(channels, affine=False,
                                                           track_running_stats=False))
    return op


class MixedEdge(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.ops = nn.ModuleList(_search_op(name, channels) for name in space.OPS)

    def forward(self, x, weights, chosen=None):
        if chosen is not None:
            rest = weights.sum() - weights[chosen]  # zero-valued, keeps the other weights' gradient
            return weights[chosen] * self.ops[chosen](x) + rest
        terms = [w * op(x) for w, op in zip(weights, self.ops) if not _is_zero(w)]
        total = terms[0] if terms else torch.zeros_like(x)
        for term in terms[1:]:
            total = total + term
        return total


def _is_zero(weight: torch.Tensor) -> bool:
    """A pruned op (weight exactly 0 and not trained) is not computed."""
    return not weight.requires_grad and float(weight) == 0.0


class SuperCell(nn.Module):
    """Node j = sum over i < j of edge_{j<-i}(node i), each edge a ``MixedEdge``."""

    def __init__(self, channels: int, owner):
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels) for _ in space.EDGES)
        self._owner = [owner]  # the network whose ``mix`` and ``chosen`` it reads (not a child)

    def forward(self, x):
        owner = self._owner[0] if self._owner[0] is not None else self
        mix, chosen = owner.mix, owner.chosen
        nodes, e = [x], 0
        for node in range(1, space.N_NODES):
            total = None
            for src in range(node):
                term = self.edges[e + src](nodes[src], mix[e + src],
                                           None if chosen is None else int(chosen[e + src]))
                total = term if total is None else total + term
            e += node
            nodes.append(total)
        return nodes[-1]


class SuperNetwork(nn.Module):
    """The benchmark's skeleton with ``SuperCell``s; set ``mix`` (edges x ops) before a forward,
    and ``chosen`` (one op index per edge) for a GDAS forward."""

    def __init__(self, num_classes: int = 10, channels: int = 16, n_cells: int = 5):
        super().__init__()
        self.mix = torch.full((len(space.EDGES), len(space.OPS)), 1.0 / len(space.OPS))
        self.chosen = None
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        layers, c = [], channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, c * 2))
                c *= 2
            layers.extend(SuperCell(c, self) for _ in range(n_cells))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(x).flatten(1))

    def thin_cell(self) -> nn.Module:
        """TE-NAS's thin network: one 1-channel cell under this network's ``mix``, then BN-ReLU."""
        cell = SuperCell(1, None)
        cell.mix, cell.chosen = self.mix, None
        return nn.Sequential(cell, nn.BatchNorm2d(1), nn.ReLU())


def build(num_classes: int = 10, channels: int = 16, n_cells: int = 5) -> SuperNetwork:
    return SuperNetwork(num_classes, channels, n_cells)
