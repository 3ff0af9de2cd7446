"""SNIP: connection sensitivity, sum of |w * dL/dw| over conv/linear weights."""
import torch.nn.functional as F

from knas.proxies._grads import weights_with_grads


def snip(net, x, y) -> float:
    net.train()
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum((w * g).abs().double().sum() for w, g in weights_with_grads(net)))
