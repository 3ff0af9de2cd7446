"""Training-free proxies, registered by name.

This module is torch-free (the dashboard reads the catalogue); each proxy lives in its own
module as one function ``<name>(net, x, y, **options) -> float`` and is imported on first use.
Adding a proxy: write its module and add one ``ProxyInfo`` line below.
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
    """The scoring function of a proxy (imports torch on first use)."""
    meta = info(name)
    module = importlib.import_module(f"{__name__}.{meta.module}")
    return getattr(module, name)
