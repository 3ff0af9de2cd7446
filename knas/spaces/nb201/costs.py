"""Parameter and FLOP counts of the NAS-Bench-201 network, in closed form and torch-free, so the
dashboard can show them without building a network (``knas.spaces.nb201.nets`` checks them against real ones)."""
from __future__ import annotations

from knas.spaces.nb201 import cells as space


def count_params(arch, num_classes: int = 10, channels: int = 16, n_cells: int = 5) -> int:
    """Parameter count, computed in closed form (no network built); equals ``sum(p.numel())``."""
    ops = space.validate(arch)

    def relu_conv_bn(c_in, c_out, k):
        return c_in * c_out * k * k + 2 * c_out

    per_cell_op = {
        "nor_conv_1x1": lambda c: relu_conv_bn(c, c, 1),
        "nor_conv_3x3": lambda c: relu_conv_bn(c, c, 3),
    }
    total = 3 * channels * 9 + 2 * channels  # stem
    c = channels
    for stage in range(3):
        if stage > 0:
            total += relu_conv_bn(c, 2 * c, 3) + relu_conv_bn(2 * c, 2 * c, 3) + c * 2 * c
            c *= 2
        total += n_cells * sum(per_cell_op[op](c) for op in ops if op in per_cell_op)
    total += 2 * c + c * num_classes + num_classes  # lastact BN + head
    return total


def count_flops(arch, num_classes: int = 10, channels: int = 16, n_cells: int = 5,
                resolution: int = 32) -> int:
    """Multiply-accumulates of one forward pass on a ``resolution``² image (convs and the head).

    Counted as NAS-Bench-201 reports FLOPs: conv and linear layers (with bias), MACs, not x2;
    pooling, BN and additions are free. The all-``none`` cell gives 7.78305 M, as the benchmark.
    """
    ops = space.validate(arch)
    total = 3 * channels * 9 * resolution**2  # stem
    c, r = channels, resolution
    for stage in range(3):
        if stage > 0:
            r_out = r // 2
            total += (c * 2 * c * 9 + 2 * c * 2 * c * 9 + c * 2 * c) * r_out**2
            c, r = 2 * c, r_out
        per_cell = sum(c * c * (1 if op == "nor_conv_1x1" else 9)
                       for op in ops if op in ("nor_conv_1x1", "nor_conv_3x3"))
        total += n_cells * per_cell * r**2
    total += c * num_classes + num_classes  # head, with its bias
    return total
