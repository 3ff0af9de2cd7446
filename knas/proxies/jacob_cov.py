"""Jacobian covariance: how decorrelated the input-Jacobians of different samples are,
-sum(log(v + k) + 1/(v + k)) over the eigenvalues v of their correlation matrix, k = 1e-5."""
import torch

_K = 1e-5


def jacob_cov(net, x, y) -> float:
    net.train()
    x = x.detach().clone().requires_grad_(True)
    net(x).sum().backward()
    jac = x.grad.reshape(x.shape[0], -1).double()
    corr = torch.corrcoef(jac)
    eig = torch.linalg.eigvalsh(corr)
    return float(-torch.sum(torch.log(eig + _K) + 1.0 / (eig + _K)))
