"""Training-free proxies, registered by name.

This module is torch-free (the dashboard reads the catalogue); each proxy lives in its own
module as one function ``<name>(net, x, y, **options) -> float`` and is imported on first use.
Adding a proxy: write its module and add one ``ProxyInfo`` line below. Several scores computed in
one pass (AZ-NAS) are several entries that name the same ``function``, which returns a
``dict[str, float]`` keyed by the entries' names.
"""
from __future__ import annotations

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
    # The scoring function's name in ``module``; defaults to the entry's name.
    function: str = ""

    def __post_init__(self):
        if not self.function:
            object.__setattr__(self, "function", self.name)


_AZ_NAS = "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024"

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
    ProxyInfo("az_expressivity", "az_nas", "AZ-NAS expressivity (eigen-entropy of block features)",
              _AZ_NAS, function="az_nas"),
    ProxyInfo("az_progressivity", "az_nas", "AZ-NAS progressivity (least expressivity gain)",
              _AZ_NAS, function="az_nas"),
    ProxyInfo("az_trainability", "az_nas", "AZ-NAS trainability (block Jacobian spectral norm near 1)",
              _AZ_NAS, function="az_nas"),
    ProxyInfo("az_complexity", "az_nas", "AZ-NAS complexity (FLOPs)", _AZ_NAS, function="az_nas",
              dedup=False),  # FLOPs of the exact cell, dead convs included
    ProxyInfo("zico", "zico", "ZiCo (inverse coefficient of variation of gradients)",
              "Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, "
              "ICLR 2023"),
    ProxyInfo("meco", "meco", "MeCo (minimum eigenvalue of feature-map correlation)",
              "Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
              "Eigenvalue of Correlation, NeurIPS 2023",
              dedup=False),  # every executed layer counts, dead branches included
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


def get(name: str):
    """The scoring function of a proxy (imports torch on first use); for an entry that shares its
    function with others, that function returns a dict holding this entry's score under its name."""
    meta = info(name)
    module = importlib.import_module(f"{__name__}.{meta.module}")
    return getattr(module, meta.function)
