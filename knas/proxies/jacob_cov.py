"""Jacobian covariance: how decorrelated the input-Jacobians of different samples are,
-sum(log(v + k) + 1/(v + k)) over the eigenvalues v of their correlation matrix, k = 1e-5."""
import torch

_K = 1e-5


def jacob_cov(net, x, y) -> float:
    net.train()
    x = x.detach().clone().requires_grad_(True)
    net(x).sum().backward()
    if x.grad is None:  # the output ignores the input (every path cut by `none` cells)
        x.grad = torch.zeros_like(x)
    jac = x.grad.reshape(x.shape[0], -1).double()
    # A constant Jacobian has no correlation with anything: count it as 0, the worst case.
    corr = torch.nan_to_num(torch.corrcoef(jac), nan=0.0)
    eig = torch.linalg.eigvalsh(corr)
    return float(-torch.sum(torch.log(eig + _K) + 1.0 / (eig + _K)))
