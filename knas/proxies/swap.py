"""SWAP-Score: the number of distinct sample-wise activation patterns of a batch.

Peng et al., SWAP-NAS, ICLR 2024; official code github.com/pym1024/SWAP, src/metrics/swap.py
(``SampleWiseActivationPatterns.calSWAP``, ``cal_regular_factor``). Every ReLU unit of the network
(every position of every channel of every ReLU) gives one row: its on/off values
over the n samples. SWAP is the number of distinct rows, at most min(units, 2^n).
"""
from __future__ import annotations

import math

import torch

from knas.proxies._patterns import count_distinct, pack_rows, relu_codes


def swap(net, x, y) -> float:
    """Distinct per-unit patterns over the batch (BatchNorm on batch statistics, as the official
    network runs in training mode)."""
    net.train()
    packed = torch.cat([pack_rows(code.T) for code in relu_codes(net, x)])
    return float(count_distinct(packed))


def swap_reg(net, x, y, mu: float | None = None, sigma: float | None = None) -> float:
    """SWAP times the paper's size regulariser ``exp(-(theta - mu)^2 / sigma)``, theta = parameter
    count in thousands (the official ``count_parameters`` unit).

    The paper's NB201 mu and sigma are not in the official code; our defaults (not tuned on
    accuracies) centre the prior on the largest network of the space for this head and scale it to
    that size: mu = its parameters in thousands (``net.size_prior()``), sigma = mu^2.
    """
    if mu is None:
        mu = net.size_prior() / 1e3
    sigma = mu * mu if sigma is None else sigma
    theta = sum(p.numel() for p in net.parameters()) / 1e3
    return swap(net, x, y) * math.exp(-((theta - mu) ** 2) / sigma)
