"""Training-free proxies, registered by name.

This module is torch-free (the dashboard reads the catalogue); each proxy lives in its own
module as one function ``<name>(net, x, y, **options) -> float`` and is imported on first use.
Scores that come out of one computation share one function returning ``dict[str, float]`` keyed
by their catalogue names (``function=`` names it). Adding a proxy: write its module and add one
``ProxyInfo`` line below.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass

from ..errors import KnasError


@dataclass(frozen=True)
class ProxyInfo:
    name: str
    module: str
    title: str
    paper: str
    bigger_is_better: bool = True
    # Scored once per canonical cell (same function at init -> same score). False for proxies
    # that count the exact cell's weights (params, FLOPs), which are cheap anyway.
    dedup: bool = True
    # The module function that computes it; one returning a dict serves several entries.
    function: str = ""

    def __post_init__(self):
        if not self.function:
            object.__setattr__(self, "function", self.name)


_TENAS = ("Chen, Gong, Wang, Neural Architecture Search on ImageNet in Four GPU Hours: "
          "A Theoretically Inspired Perspective, ICLR 2021")
_SWAP = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024"
_KNAS_GRAM = "Xu et al., KNAS, ICML 2021 (its Gram matrix; the condition number as in TE-NAS)"

CATALOG = {p.name: p for p in [
    ProxyInfo("mgm", "mgm", "MGM (KNAS paper): mean Gram matrix of per-sample gradients",
              "Xu et al., KNAS: Green Neural Architecture Search, ICML 2021"),
    ProxyInfo("mgm_official", "mgm_official",
              "KNAS official-code statistic (reproduction mode, NOT the paper's MGM)",
              "github.com/jingjing-xu/KNAS procedure(): centred half-split gradient product"),
    ProxyInfo("grad_norm", "grad_norm", "Gradient norm",
              "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021"),
    ProxyInfo("snip", "snip", "SNIP saliency", "Lee et al., SNIP, ICLR 2019"),
    ProxyInfo("grasp", "grasp", "GraSP (gradient signal preservation)",
              "Wang et al., Picking Winning Tickets Before Training, ICLR 2020"),
    ProxyInfo("synflow", "synflow", "SynFlow (data-free)",
              "Tanaka et al., Pruning neural networks without any data, NeurIPS 2020"),
    ProxyInfo("jacob_cov", "jacob_cov", "Jacobian covariance",
              "Mellor et al., Neural Architecture Search without Training, arXiv v1 2020"),
    ProxyInfo("naswot", "naswot", "NASWOT (log-det of the activation-code kernel)",
              "Mellor et al., Neural Architecture Search without Training, ICML 2021",
              dedup=False),  # counts every ReLU, dead branches included
    ProxyInfo("te_ntk_cond", "ntk", "TE-NAS: condition number of the NTK (smaller is better)",
              _TENAS, bigger_is_better=False),
    ProxyInfo("te_linear_regions", "linear_regions",
              "TE-NAS: linear regions of the 1-channel cell on 3x3 crops", _TENAS,
              dedup=False),  # counts the ReLUs of dead branches too
    ProxyInfo("swap", "swap", "SWAP: distinct sample-wise activation patterns", _SWAP,
              dedup=False),  # counts every ReLU, dead branches included
    ProxyInfo("swap_reg", "swap", "SWAP x parameter-count regulariser", _SWAP, dedup=False),
    ProxyInfo("zen", "zen", "Zen-score (Gaussian perturbation of the pre-pooling features)",
              "Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, "
              "ICCV 2021", dedup=False),  # dead branches' BatchNorm variances count
    ProxyInfo("gram_trace", "gram", "Gram matrix of per-sample gradients: trace / n", _KNAS_GRAM,
              function="gram"),
    ProxyInfo("gram_cond", "gram", "Gram matrix of per-sample gradients: condition number "
              "(smaller is better)", _KNAS_GRAM, bigger_is_better=False, function="gram"),
    ProxyInfo("gram_coherence", "gram", "Gram matrix of per-sample gradients: mean / mean diagonal",
              _KNAS_GRAM, function="gram"),
    ProxyInfo("params", "counts", "Parameter count", "baseline", dedup=False),
    ProxyInfo("flops", "counts", "FLOPs (multiply-accumulates)", "baseline", dedup=False),
]}


class UnknownProxyError(KnasError):
    pass


def info(name: str) -> ProxyInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownProxyError(
            f"unknown proxy {name!r}; available: {', '.join(CATALOG)}"
        ) from None


def get_function(name: str):
    """The module function behind an entry (imports torch on first use); for an entry that
    shares it, it returns ``dict[str, float]`` with every sharing entry's score."""
    meta = info(name)
    module = importlib.import_module(f"{__name__}.{meta.module}")
    return getattr(module, meta.function)


def get(name: str):
    """The scoring function of one entry, ``(net, x, y, **options) -> float``."""
    fn = get_function(name)
    if info(name).function == name:
        return fn

    @functools.wraps(fn)
    def one_score(net, x, y, **options):
        return fn(net, x, y, **options)[name]

    one_score.__name__ = name
    return one_score
