"""GraSP: -sum of w * (H g) over conv/linear weights, H the loss Hessian, g the loss gradient.

Bigger is better as zero-cost-nas reports it (the sign flip is the GraSP paper's pruning score
taken at the network level).
"""
import torch
import torch.nn.functional as F

from knas.proxies._grads import scored_weights


def grasp(net, x, y) -> float:
    net.train()
    weights = scored_weights(net)
    # allow_unused: layers that `none` cells cut off from the loss have no gradient (zero).
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True,
                                allow_unused=True)
    used = [(w, g) for w, g in zip(weights, grads) if g is not None]
    z = sum((g * g.detach()).sum() for _, g in used)  # d z / d w = H g
    if not torch.is_tensor(z) or not z.requires_grad:
        return 0.0  # no weight reaches the loss, or the loss is linear in them: H g = 0
    hessian_grad = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    return float(-sum((w.detach() * hg).double().sum()
                      for (w, _), hg in zip(used, hessian_grad) if hg is not None))
