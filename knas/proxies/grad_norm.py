"""Gradient norm: sum over conv/linear layers of the L2 norm of the weight gradient."""
import torch.nn.functional as F

from ._grads import weight_layers


def grad_norm(net, x, y) -> float:
    net.train()
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum(m.weight.grad.double().norm() for m in weight_layers(net)))
