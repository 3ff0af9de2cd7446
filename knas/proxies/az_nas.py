"""AZ-NAS (Lee & Ham, CVPR 2024): four scores of one network from one forward and backward pass.

Following the official NAS-Bench-201 code (github.com/cvlab-yonsei/AZ-NAS,
``NB201/ZeroShotProxy/compute_az_nas_score.py`` and ``NB201/custom/tss_model.py``): the network is
re-initialised Kaiming-normal (fan-in, ReLU gain; BN weight 1, bias 0) and fed Gaussian noise of
the batch's shape, in training mode. Its blocks are the network's ``net.blocks`` (NAS-Bench-201: the
17 modules of ``net.cells``, 15 cells and 2 residual reductions); the features are the stem output
and every block's output (18 maps there), with channels on axis 1 (images or sequences).

- expressivity: sum over features of the entropy of the normalised eigenvalues of the channel
  covariance (over samples and positions);
- progressivity: the smallest increase of that entropy from one feature to the next;
- trainability: mean over blocks of ``2 - s - 1/s``, s the largest singular value of the
  channel-by-channel average of ``g_in g_out^T``, where g_out is a random ±1 vector at the block's
  output and g_in its back-propagation to the block's input (-inf for a block that is the identity);
- complexity: FLOPs of the exact cell (the official code reads them from the benchmark); it needs
  no pass, so its catalogue entry is ``counts.flops`` and this function returns the other three.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from knas.proxies._grads import restored

_EPS_LOG = 1e-8  # inside the entropy's log, as the official code
_EPS_SVD = 1e-6  # in 1/s, as the official code


def az_nas(net, x, y, random_input: bool = True, wanted=None) -> dict[str, float]:
    """Expressivity, progressivity and trainability (or those of them ``wanted`` names: without
    trainability no probe is drawn and nothing is back-propagated, and the other two come out
    bit for bit the same). Random draws (weights, input, probes) come from a generator seeded
    with the seed the network was built under, so a score does not depend on what ran before
    it; the caller's network is put back as it was."""
    generator = torch.Generator().manual_seed(torch.initial_seed())
    with restored(net):
        kaiming_normal_(net, generator)
        inputs = torch.randn(x.shape, generator=generator).to(x) if random_input else x
        trainability = wanted is None or "az_trainability" in wanted
        return block_scores(net, inputs, generator, trainability)


def kaiming_normal_(net: nn.Module, generator: torch.Generator) -> None:
    """The official code's initialisation, in place."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
                std = math.sqrt(2.0 / m.weight[0].numel())
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def block_scores(net, inputs, generator: torch.Generator,
                 trainability: bool = True) -> dict[str, float]:
    """Expressivity, progressivity and (unless told not to) trainability of ``net`` as it is,
    on ``inputs``."""
    net.train()
    with torch.set_grad_enabled(trainability):  # no graph to record when nothing flows back
        feature = net.stem(inputs)
        entropies, terms = [eigen_entropy(feature)], []
        for block in net.blocks:
            block_in = feature.detach().requires_grad_(True)
            feature = block(block_in)
            if trainability:
                signs = torch.randint(0, 2, feature.shape, generator=generator)
                probe = (signs * 2 - 1).to(feature)
                terms.append(jacobian_term(input_gradient(feature, block_in, probe), probe))
            entropies.append(eigen_entropy(feature))
    entropy = torch.tensor(entropies, dtype=torch.float64)
    scores = {"az_expressivity": _finite_or_worst(entropy.sum()),
              "az_progressivity": _finite_or_worst(entropy.diff().min())}  # NaN propagates
    if trainability:
        scores["az_trainability"] = _finite_or_worst(sum(terms) / len(terms))
    return scores


def eigen_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the (n·positions) x c covariance of a feature map;
    NaN for a constant map (no variance to distribute)."""
    rows = feature.detach().movedim(1, -1).reshape(-1, feature.shape[1])
    rows = rows - rows.mean(dim=0, keepdim=True)
    covariance = (rows.T @ rows / rows.shape[0]).cpu().double()
    # Rounding can leave tiny negative eigenvalues; clamping keeps log() defined.
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp_min(0.0)
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * torch.log(p + _EPS_LOG)).sum())


def input_gradient(output, block_in, probe) -> torch.Tensor:
    """``probe`` back-propagated to the block's input; zero where the output ignores the input
    (a cell whose every path is cut, which NAS-Bench-201 computes as input * 0)."""
    if not output.requires_grad:
        return torch.zeros_like(block_in)
    (grad,) = torch.autograd.grad(output, block_in, probe, allow_unused=True)
    return torch.zeros_like(block_in) if grad is None else grad


def jacobian_term(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """``2 - s - 1/s`` (at most 0, reached at s = 1) for the top singular value s of
    ``mean over samples and positions of g_in g_out^T``; a reduction's input gradient is first
    folded to the output resolution (pixel unshuffle; for sequences, neighbouring positions
    folded into channels the same way)."""
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    if g_in.shape[-1] != g_out.shape[-1]:
        factor = g_in.shape[-1] // g_out.shape[-1]
        if g_in.dim() == 4:
            g_in = F.pixel_unshuffle(g_in, factor)
        else:
            n, c, length = g_in.shape
            g_in = g_in.reshape(n, c, length // factor, factor).movedim(3, 2).reshape(
                n, c * factor, length // factor)
    a = g_in.movedim(1, -1).reshape(-1, g_in.shape[1])
    b = g_out.movedim(1, -1).reshape(-1, g_out.shape[1])
    s = float(torch.linalg.matrix_norm((a.T @ b / a.shape[0]).cpu().double(), ord=2))
    return 2.0 - s - 1.0 / (s + _EPS_SVD)


def _finite_or_worst(value) -> float:
    """The official code's rule: a NaN score (constant features) ranks last."""
    value = float(value)
    return -math.inf if math.isnan(value) else value
