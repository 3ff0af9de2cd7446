"""SNIP: connection sensitivity, sum of |w * dL/dw| over conv/linear weights."""
import torch.nn.functional as F

from ._grads import weight_layers


def snip(net, x, y) -> float:
    net.train()
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum((m.weight.detach() * m.weight.grad).abs().double().sum() for m in weight_layers(net)))
