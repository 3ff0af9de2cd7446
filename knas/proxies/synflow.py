"""SynFlow: sum of |w * dR/dw| with R the summed output of the network with absolute weights
on an all-ones input; BatchNorm off and float64 so products of many weights do not overflow.
Data-free: the batch only gives the input shape."""
import torch

from knas.proxies._grads import batchnorm_off, restored, weights_with_grads


def synflow(net, x, y) -> float:
    with restored(net):  # |w| and float64 must not leak into the caller's net
        net.double()
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        net.zero_grad(set_to_none=True)
        ones = torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64, device=x.device)
        with batchnorm_off(net):
            net(ones).sum().backward()
        return float(sum((w * g).abs().sum() for w, g in weights_with_grads(net)))
