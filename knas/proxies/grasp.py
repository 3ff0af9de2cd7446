"""GraSP: -sum of w * (H g) over conv/linear weights, H the loss Hessian, g the loss gradient.

Bigger is better as zero-cost-nas reports it (the sign flip is the GraSP paper's pruning score
taken at the network level).
"""
import torch
import torch.nn.functional as F

from ._grads import weight_layers


def grasp(net, x, y) -> float:
    net.train()
    weights = [m.weight for m in weight_layers(net)]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True)
    z = sum((g * g.detach()).sum() for g in grads)  # d z / d w = H g
    hessian_grad = torch.autograd.grad(z, weights)
    return float(-sum((w.detach() * hg).double().sum() for w, hg in zip(weights, hessian_grad)))
