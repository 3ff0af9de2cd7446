"""Gradient norm: sum over conv/linear layers of the L2 norm of the weight gradient."""
import torch.nn.functional as F

from knas.proxies._grads import weights_with_grads


def grad_norm(net, x, y) -> float:
    net.train()
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return float(sum(g.double().norm() for _, g in weights_with_grads(net)))
