"""Which edges of a cell the forward pass may skip without changing any output or gradient.

The rule (``computed_edges``): an edge ``dst <- src`` is computed iff its op is not ``none`` and
``dst`` reaches the cell output, node 3, through edges that are not ``none`` (node 3 reaches
itself). Why this is exact:

- A skipped edge's output only feeds node ``dst``; every edge leaving ``dst`` is ``none`` or ends
  at a node that does not reach node 3 either (else ``dst`` would reach it). So nothing the
  skipped edge computes flows into the cell output, the loss, or any gradient: its parameters get
  no gradient with or without it (``None``, which every proxy reads as zero). A live node sums the
  same terms in the same order either way, so live values are bitwise the same.
- An edge whose source carries only zeros (not fed from node 0) is NOT skipped when ``dst``
  reaches the output: ReLU-Conv-BN of zeros is BatchNorm's bias, and that bias gets a gradient.
  That is why this is not ``space.live_edges``, which also drops such zero-fed edges.

What does change: work nobody reads. Forward hooks and activation statistics of skipped modules
(NASWOT counts the ReLUs of dead edges) and the running statistics of their BatchNorms (read
only in eval mode; every proxy scores in train mode). The parameters stay registered, so
parameter order and counts are those of the full network.
"""
from __future__ import annotations

from knas.spaces.nb201 import cells as space
from knas.spaces.nb201.costs import count_flops

OUTPUT = space.N_NODES - 1


def nodes_reaching_output(arch) -> frozenset:
    """Nodes with a path of non-``none`` edges to the cell output (the output included)."""
    ops = space.validate(arch)
    reaching = {OUTPUT}
    for (dst, src), op in sorted(zip(space.EDGES, ops), key=lambda edge: -edge[0][0]):
        if op != "none" and dst in reaching:
            reaching.add(src)
    return frozenset(reaching)


def computed_edges(arch) -> tuple:
    """Per edge (``space.EDGES`` order): must the forward pass compute it? See the module doc."""
    ops = space.validate(arch)
    reaching = nodes_reaching_output(ops)
    return tuple(op != "none" and dst in reaching for (dst, _), op in zip(space.EDGES, ops))


def skipped_convs(arch) -> tuple:
    """The conv ops of the edges pruning skips (the only skipped edges that cost MACs)."""
    ops = space.validate(arch)
    return tuple(op for op, kept in zip(ops, computed_edges(ops))
                 if not kept and op in ("nor_conv_1x1", "nor_conv_3x3"))


def pruned_flops(arch, num_classes: int = 10, channels: int = 16, n_cells: int = 5,
                 resolution: int = 32) -> int:
    """Forward multiply-accumulates the pruned network computes (``count_flops`` counts the full
    cell): the full count with the cells' skipped convs taken off, stage by stage."""
    ops = space.validate(arch)
    skipped = sum(1 if op == "nor_conv_1x1" else 9 for op in skipped_convs(ops))
    full = count_flops(ops, num_classes, channels, n_cells, resolution)
    c, r, saved = channels, resolution, 0
    for _ in range(3):
        saved += n_cells * skipped * c * c * r * r
        c, r = 2 * c, r // 2
    return full - saved
