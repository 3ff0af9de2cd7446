"""Size baselines: parameter count and FLOPs of the exact cell (no data, no gradients)."""
from .. import nets


def params(net, x, y) -> float:
    return float(sum(p.numel() for p in net.parameters()))


def flops(net, x, y) -> float:
    return float(nets.count_flops(net.arch, num_classes=net.num_classes, channels=net.channels,
                                  n_cells=net.n_cells, resolution=x.shape[-1]))
