"""Size baselines: parameter count and FLOPs of the exact cell (no data, no gradients).

FLOPs are counted as NAS-Bench-201 reports them: multiply-accumulates of the convolution and
linear layers (biases included), pooling, normalisation and additions free. A network that knows
its count in closed form says so (``net.count_flops(resolution)``); any other is counted by one
forward pass of a single sample with hooks on those layers.
"""
import torch
from torch import nn


def params(net, x, y) -> float:
    return float(sum(p.numel() for p in net.parameters()))


def flops(net, x, y) -> float:
    if hasattr(net, "count_flops"):
        return float(net.count_flops(resolution=x.shape[-1]))
    return float(hook_flops(net, x[:1]))


def hook_flops(net, x) -> int:
    """Multiply-accumulates of one forward pass of ``x`` (one sample) through ``net``'s
    convolution and linear layers, biases included."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.modules.conv._ConvNd):
            per_output = module.weight[0].numel() + (module.bias is not None)
            total += output[0].numel() * per_output
        else:
            total += output[0].numel() * (module.in_features + (module.bias is not None))

    layers = [m for m in net.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    handles = [m.register_forward_hook(count) for m in layers]
    training = net.training
    try:
        with torch.no_grad():
            net.eval()(x)  # running statistics: a batch of one is fine for every norm layer
    finally:
        net.train(training)
        for handle in handles:
            handle.remove()
    return total
