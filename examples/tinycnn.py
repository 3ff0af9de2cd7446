"""A search space of your own, as KNAS Studio reads it: a small CNN whose per-stage width, kernel
size and depth are the decisions (3 stages x 3 widths x 2 kernels x 2 depths = 1,728 cells).

Use it anywhere a space is named, by path and class::

    python -m knas score --space examples/tinycnn.py:TinyCNN --dataset cifar10 --data D.npz
    python -m knas search --space examples/tinycnn.py:TinyCNN --fine train:1 --baselines rea ...
    python -m knas truth --space examples/tinycnn.py:TinyCNN --dataset cifar10 --data D.npz --cells 20

A space is a subclass of ``knas.spaces.SearchSpace`` with a ``name``, ``decisions()`` and
``build()``; everything else (indices, arch strings such as ``width_1=16|kernel_1=3|...``,
sampling, neighbours, mutation, Optuna distributions, the diagram) follows from the decisions.
``capabilities`` says what the networks offer the proxies (``knas.spaces.contract``): these
expose their blocks and pre-pooling features, use ReLUs and train only convolution and
linear weights, so MGM, MeCo, SynFlow, AZ-NAS, Zen,
NASWOT and the gradient proxies apply; TE-NAS's linear regions (it needs NAS-Bench-201's thin
cell) and SWAP's size prior are refused with the reason. ``import torch`` stays inside
``build``, so the dashboard can read the decisions without loading torch.
"""
from __future__ import annotations

import functools

from knas.spaces import SearchSpace
from knas.spaces.base import Decision
from knas.spaces.contract import BLOCKS, CONTINUOUS_INPUT, PRE_POOL, RELU, WEIGHT_LAYERS

WIDTHS, KERNELS, DEPTHS, STAGES, STEM = (8, 16, 32), (3, 5), (1, 2), 3, 16


class TinyCNN(SearchSpace):
    name = "tinycnn"
    label = "TinyCNN (example)"
    description = "a 3-stage CNN; per stage: width 8/16/32, kernel 3/5, 1 or 2 conv layers"
    datasets = ("cifar10", "cifar100", "imagenet16-120")
    capabilities = frozenset({BLOCKS, PRE_POOL, RELU, CONTINUOUS_INPUT, WEIGHT_LAYERS})

    def decisions(self) -> tuple:
        out = []
        for stage in range(1, STAGES + 1):
            out += [Decision(f"width_{stage}", f"stage {stage} width", WIDTHS),
                    Decision(f"kernel_{stage}", f"stage {stage} kernel", KERNELS),
                    Decision(f"depth_{stage}", f"stage {stage} depth", DEPTHS)]
        return tuple(out)

    def build(self, arch, num_classes: int, prune: bool = False):
        return _network_class()(self.validate(arch), num_classes)

    def count_params(self, arch, num_classes: int) -> int:
        """Convolutions (no bias), BatchNorm scale and shift, the linear head."""
        total, c_in = 3 * STEM * 9 + 2 * STEM, STEM
        for width, kernel, depth in _stages(self.validate(arch)):
            for _ in range(depth):
                total += c_in * width * kernel * kernel + 2 * width
                c_in = width
        return total + c_in * num_classes + num_classes


def _stages(arch) -> list[tuple]:
    """(width, kernel, depth) per stage."""
    return [tuple(arch[3 * s:3 * s + 3]) for s in range(STAGES)]


@functools.cache
def _network_class():
    """The network class, defined on first use so that torch loads only when a network is built."""
    from torch import nn

    def conv_bn_relu(c_in, c_out, kernel, stride):
        return [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                nn.BatchNorm2d(c_out), nn.ReLU()]

    class Network(nn.Module):
        """Stem, one block per stage (the first conv of stages 2 and 3 halves the resolution),
        global average pooling, a linear head."""

        def __init__(self, arch, num_classes):
            super().__init__()
            self.arch, self.num_classes = tuple(arch), num_classes
            self.stem = nn.Sequential(nn.Conv2d(3, STEM, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(STEM))
            stages, c_in = [], STEM
            for stage, (width, kernel, depth) in enumerate(_stages(arch)):
                layers = []
                for layer in range(depth):
                    stride = 2 if stage > 0 and layer == 0 else 1
                    layers += conv_bn_relu(c_in, width, kernel, stride)
                    c_in = width
                stages.append(nn.Sequential(*layers))
            self.blocks = nn.Sequential(*stages)
            self.head = nn.Linear(c_in, num_classes)

        def pre_pool(self, x):
            return self.blocks(self.stem(x))

        def forward(self, x):
            return self.head(self.pre_pool(x).mean(dim=(2, 3)))

    return Network
