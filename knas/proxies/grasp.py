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
    loss = F.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, weights)
    loss = F.cross_entropy(net(x), y)
    grads_with_graph = torch.autograd.grad(loss, weights, create_graph=True)
    z = sum((g_graph * g.detach()).sum() for g_graph, g in zip(grads_with_graph, grads))
    hessian_grad = torch.autograd.grad(z, weights)
    return float(-sum((w.detach() * hg).double().sum() for w, hg in zip(weights, hessian_grad)))
