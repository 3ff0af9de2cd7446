"""The NAS-Bench-201 network for a cell, in plain PyTorch, parameter-for-parameter as the benchmark.

Stem (3x3 conv + BN), three stages of ``n_cells`` cells at C, 2C, 4C channels joined by residual
reduction blocks, final BN-ReLU, global average pooling and a linear head. Ops are ReLU-Conv-BN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from knas.spaces.nb201 import cells as space
from knas.spaces.nb201 import costs, pruning


# The code between the two markers is copied into every generated stand-alone module
# (module_source.py): it may use only torch, F, nn and space.N_NODES/ArchError/validate.
# --- exported into generated modules: begin
class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class AvgPool3x3(nn.Module):
    """NAS-Bench-201's avg_pool_3x3 (stride 1, padding 1, padded cells not counted).

    Computed as a fixed depthwise 3x3 sum divided by the number of real cells under the window:
    the same numbers as ``nn.AvgPool2d(3, 1, 1, count_include_pad=False)``, about four times
    faster forward and backward on a CPU. No parameters, like the original.
    """

    def forward(self, x):
        channels, height, width = x.shape[1:]
        summed = F.conv2d(x, x.new_ones(channels, 1, 3, 3), padding=1, groups=channels)
        count = F.conv2d(x.new_ones(1, 1, height, width), x.new_ones(1, 1, 3, 3), padding=1)
        return summed / count


def make_op(name: str, channels: int) -> nn.Module:
    """One cell op; inside a cell every edge keeps the channel count and resolution."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise space.ArchError(f"unknown op {name!r}")


class Cell(nn.Module):
    """Node j = sum over i < j of edge_{j<-i}(node i); the output is node 3.

    Every edge's module is built (same weights, same parameter order as the benchmark), but only
    the ``computed`` edges run: by default every edge that is not ``none``; ``build(prune=True)``
    also leaves out edges whose output cannot reach node 3 (the same outputs and gradients).
    """

    def __init__(self, arch, channels: int, computed=None):
        super().__init__()
        self.arch = space.validate(arch)
        self.edges = nn.ModuleList(make_op(op, channels) for op in self.arch)
        self.computed = tuple(computed) if computed is not None \
            else tuple(op != "none" for op in self.arch)

    def forward(self, x):
        nodes = [x]
        e = 0
        for node in range(1, space.N_NODES):
            terms = [self.edges[e + src](nodes[src]) for src in range(node)
                     if self.computed[e + src]]
            # A node without computed inputs is zeros (never read when pruning skipped its edges).
            total = terms[0] if terms else torch.zeros_like(x)
            for term in terms[1:]:
                total = total + term
            e += node
            nodes.append(total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's ResNetBasicblock with stride 2 between stages."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class Network(nn.Module):
    def __init__(self, arch, num_classes: int = 10, channels: int = 16, n_cells: int = 5,
                 computed=None):
        super().__init__()
        self.arch = space.validate(arch)
        self.num_classes, self.channels, self.n_cells = num_classes, channels, n_cells
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, c * 2))
                c *= 2
            layers.extend(Cell(self.arch, c, computed) for _ in range(n_cells))
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def features(self, x):
        """The pooled features before the head (used by some proxies)."""
        x = self.lastact(self.cells(self.stem(x)))
        return self.global_pooling(x).flatten(1)

    def forward(self, x):
        return self.classifier(self.features(x))


# --- exported into generated modules: end


class SpaceNetwork(Network):
    """The network as the proxies see it (``knas.spaces.contract``): the benchmark's modules and
    parameter names (state dicts interchange with ``Network`` and the exported module), plus
    its blocks, its pre-pooling features, its 1-channel cell, its size prior, its closed-form
    FLOPs and the official model's nesting for MeCo."""

    @property
    def blocks(self):
        """The 17 blocks between the stem and the head: 15 cells and 2 residual reductions."""
        return self.cells

    def pre_pool(self, x):
        """The feature map right before global average pooling."""
        return self.lastact(self.cells(self.stem(x)))

    def thin_cell(self) -> nn.Module:
        """TE-NAS's thin network: the cell alone with 1 channel, then the head's BN-ReLU."""
        return nn.Sequential(Cell(self.arch, 1), nn.BatchNorm2d(1), nn.ReLU())

    def size_prior(self) -> int:
        """Parameters of the largest network of the space for this head (every edge a 3x3 conv)."""
        return costs.count_params(("nor_conv_3x3",) * len(space.EDGES), num_classes=self.num_classes,
                                  channels=self.channels, n_cells=self.n_cells)

    def count_flops(self, resolution: int) -> int:
        return costs.count_flops(self.arch, num_classes=self.num_classes, channels=self.channels,
                                 n_cells=self.n_cells, resolution=resolution)

    def meco_multiplicity(self) -> dict:
        """How many modules of the official NAS-Bench-201 model output each of our modules' feature
        maps: its wrappers (ReLUConvBN, its Sequential, stem, POOLING, stage Sequentials) repeat
        the BN, pooling and stage-end outputs (MeCo hooks every module of the official model)."""
        counts: dict[nn.Module, int] = {self.stem[0]: 1, self.stem[1]: 3, self.lastact[0]: 1,
                                        self.lastact[1]: 2}
        blocks = list(self.cells)
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


def build(arch, num_classes: int = 10, channels: int = 16, n_cells: int = 5,
          prune: bool = False) -> SpaceNetwork:
    """The network of a cell; ``prune`` skips edges that cannot reach a cell's output, which
    leaves every proxy marked prunable unchanged (``knas.spaces.nb201.pruning``)."""
    computed = pruning.computed_edges(arch) if prune else None
    return SpaceNetwork(arch, num_classes=num_classes, channels=channels, n_cells=n_cells,
                        computed=computed)
