"""Training-free proxies, registered by name.

This module is torch-free (the dashboard reads the catalogue); each proxy lives in its own
module as one function ``<name>(net, x, y, **options) -> float`` and is imported on first use.
Each entry carries the proxy's facts (direction, cost, options, whether it can be chunked or
shared between cells of the same function), so adding a proxy touches its module and one
``ProxyInfo`` line below, nothing else. Several scores computed in one pass (AZ-NAS) are several
entries that name the same ``function``, which returns a ``dict[str, float]`` keyed by the
entries' names; the scorer runs it once for all of them.
"""
from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from knas.errors import KnasError
from knas.spaces.contract import (BLOCKS, CONTINUOUS_INPUT, DESCRIPTIONS, PRE_POOL, RELU, SIZE_PRIOR,
                                  THIN_CELL, WEIGHT_LAYERS)


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy and the facts the rest of the app needs about it."""
    name: str
    module: str
    title: str
    paper: str
    bigger_is_better: bool = True
    # Scored once per canonical cell (same function at init -> same score). False for proxies
    # that count the exact cell's weights or activations (params, FLOPs, NASWOT).
    dedup: bool = True
    # Wall seconds per network at n = 32 with both cores of the project's 2-core reference CPU
    # busy (docs/correlation.md, docs/benchmarks.md); the work estimate scales it by n / 32.
    cpu_seconds: float = 0.2
    options: tuple = ()  # ScoreSettings fields passed to the function as keyword arguments
    chunkable: bool = False  # takes ``chunk=`` and gives the same value in chunks (GPU OOM retry)
    function: str = ""  # the function computing it, when several scores share one pass
    # The shared function takes ``wanted=`` (the entries asked for) and skips work only the
    # others need, their values unchanged bit for bit.
    partial: bool = False
    # Unchanged when the network skips edges that cannot reach a cell's output (knas.spaces.nb201.pruning);
    # False for proxies that see every module run (activation patterns, hooks, BN statistics).
    prunable: bool = True
    # What the network must offer (knas.spaces.contract); a space without it is refused.
    requires: tuple = ()

    @property
    def function_name(self) -> str:
        return self.function or self.name

    @property
    def shared_pass(self) -> tuple:
        """Entries with the same (module, function) are computed by one call."""
        return self.module, self.function_name


_AZ_NAS = "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024"
_TENAS = ("Chen, Gong, Wang, Neural Architecture Search on ImageNet in Four GPU Hours: "
          "A Theoretically Inspired Perspective, ICLR 2021")
_SWAP = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024"
_KNAS_GRAM = "Xu et al., KNAS, ICML 2021 (its Gram matrix; the condition number as in TE-NAS)"
_AZ_REQUIRES = (BLOCKS, CONTINUOUS_INPUT)  # block by block, on Gaussian inputs

CATALOG = {p.name: p for p in [
    ProxyInfo("mgm", "mgm", "MGM (KNAS paper): mean Gram matrix of per-sample gradients",
              "Xu et al., KNAS: Green Neural Architecture Search, ICML 2021",
              cpu_seconds=0.28, options=("params",), chunkable=True),
    ProxyInfo("mgm_official", "mgm_official",
              "KNAS official-code statistic (reproduction mode, NOT the paper's MGM)",
              "github.com/jingjing-xu/KNAS procedure(): centred half-split gradient product",
              cpu_seconds=0.64),
    ProxyInfo("grad_norm", "grad_norm", "Gradient norm",
              "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021",
              cpu_seconds=0.43, requires=(WEIGHT_LAYERS,)),
    ProxyInfo("snip", "snip", "SNIP saliency", "Lee et al., SNIP, ICLR 2019", cpu_seconds=0.43,
              requires=(WEIGHT_LAYERS,)),
    ProxyInfo("grasp", "grasp", "GraSP (gradient signal preservation)",
              "Wang et al., Picking Winning Tickets Before Training, ICLR 2020", cpu_seconds=1.85,
              requires=(WEIGHT_LAYERS,)),
    ProxyInfo("synflow", "synflow", "SynFlow (data-free)",
              "Tanaka et al., Pruning neural networks without any data, NeurIPS 2020",
              cpu_seconds=0.11, requires=(CONTINUOUS_INPUT, WEIGHT_LAYERS)),
    ProxyInfo("jacob_cov", "jacob_cov", "Jacobian covariance",
              "Mellor et al., Neural Architecture Search without Training, arXiv v1 2020",
              cpu_seconds=0.44, requires=(CONTINUOUS_INPUT,)),
    ProxyInfo("naswot", "naswot", "NASWOT (log-det of the activation-code kernel)",
              "Mellor et al., Neural Architecture Search without Training, ICML 2021",
              dedup=False, cpu_seconds=0.33, prunable=False,  # counts every ReLU, dead branches included
              requires=(RELU,)),
    # AZ-NAS's four scores come from one pass (az_nas.az_nas), except complexity, which is the
    # exact cell's FLOPs and needs no network at all.
    ProxyInfo("az_expressivity", "az_nas", "AZ-NAS expressivity (eigen-entropy of block features)",
              _AZ_NAS, function="az_nas", cpu_seconds=0.67, requires=_AZ_REQUIRES, partial=True),
    ProxyInfo("az_progressivity", "az_nas", "AZ-NAS progressivity (least expressivity gain)",
              _AZ_NAS, function="az_nas", cpu_seconds=0.67, requires=_AZ_REQUIRES, partial=True),
    ProxyInfo("az_trainability", "az_nas", "AZ-NAS trainability (block Jacobian spectral norm near 1)",
              _AZ_NAS, function="az_nas", cpu_seconds=0.67, requires=_AZ_REQUIRES, partial=True),
    ProxyInfo("az_complexity", "counts", "AZ-NAS complexity (FLOPs of the exact cell)", _AZ_NAS,
              function="flops", dedup=False, cpu_seconds=0.02),
    ProxyInfo("zico", "zico", "ZiCo (inverse coefficient of variation of gradients)",
              "Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, "
              "ICLR 2023", cpu_seconds=0.70, requires=(WEIGHT_LAYERS,)),
    ProxyInfo("meco", "meco", "MeCo (minimum eigenvalue of feature-map correlation)",
              "Jiang et al., MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum "
              "Eigenvalue of Correlation, NeurIPS 2023",
              dedup=False, cpu_seconds=0.12, prunable=False),  # every executed layer counts, dead branches included
    ProxyInfo("te_ntk_cond", "ntk", "TE-NAS: condition number of the NTK (smaller is better)",
              _TENAS, bigger_is_better=False, cpu_seconds=3.9),
    ProxyInfo("te_linear_regions", "linear_regions",
              "TE-NAS: linear regions of the 1-channel cell on 3x3 crops", _TENAS,
              dedup=False, cpu_seconds=0.02,  # its own 1-channel cell: dead branches' ReLUs count
              requires=(THIN_CELL,)),
    ProxyInfo("swap", "swap", "SWAP: distinct sample-wise activation patterns", _SWAP,
              dedup=False, cpu_seconds=0.14, prunable=False,  # counts every ReLU, dead branches included
              requires=(RELU,)),
    ProxyInfo("swap_reg", "swap", "SWAP x parameter-count regulariser", _SWAP, dedup=False,
              cpu_seconds=0.14, prunable=False, requires=(RELU, SIZE_PRIOR)),
    ProxyInfo("zen", "zen", "Zen-score (Gaussian perturbation of the pre-pooling features)",
              "Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, "
              "ICCV 2021", dedup=False, cpu_seconds=0.23, prunable=False,  # dead branches' BN variances count
              requires=(PRE_POOL, CONTINUOUS_INPUT)),
    ProxyInfo("gram_trace", "gram", "Gram matrix of per-sample gradients: trace / n", _KNAS_GRAM,
              function="gram", options=("params",), cpu_seconds=0.36),
    ProxyInfo("gram_cond", "gram", "Gram matrix of per-sample gradients: condition number "
              "(smaller is better)", _KNAS_GRAM, bigger_is_better=False, function="gram",
              options=("params",), cpu_seconds=0.36),
    ProxyInfo("gram_coherence", "gram", "Gram matrix of per-sample gradients: mean / mean diagonal",
              _KNAS_GRAM, function="gram", options=("params",), cpu_seconds=0.36),
    ProxyInfo("params", "counts", "Parameter count", "baseline", dedup=False, cpu_seconds=0.02),
    ProxyInfo("flops", "counts", "FLOPs (multiply-accumulates)", "baseline", dedup=False,
              cpu_seconds=0.02),
]}
NAMES = tuple(CATALOG)

@dataclass(frozen=True)
class NamedRanking:
    """A rank aggregation of proxies that goes by a name, and what it was chosen for."""
    aggregation: str
    members: tuple
    good_at: str  # for the picker: when to use it


# The Studio's two measured rankings, each chosen on a 1,000-cell sample of NAS-Bench-201 and
# reported over the whole space: `recommended` for ρ (benchmarks/correlation_study,
# docs/correlation.md), `recommended_top` for the outcome of the two-stage search
# (benchmarks/search_ranking, docs/search_ranking.md and docs/whole_space_search.md).
RECOMMENDED = "recommended"
RANKINGS = {
    RECOMMENDED: NamedRanking(
        "logrank", ("meco", "synflow", "az_expressivity"),
        "orders a whole pool best (ρ 0.93 over all cells): to study or rank everything"),
    "recommended_top": NamedRanking(
        "logrank", ("swap_reg", "synflow", "gram_cond"),
        "chosen for the cell a search ends with, and affordable over the whole space: to search"),
}


def measured(space: str) -> dict:
    """What each proxy was measured to be worth on a space (``measured.json`` beside this module,
    written by ``benchmarks/correlation_study.py`` for the space it names): name -> Spearman ρ /
    Kendall τ / top-10% overlap against its test accuracy, cells and scope, seconds per network.
    {} when the file is absent or measured another space."""
    path = Path(__file__).with_name("measured.json")
    try:
        study = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return study.get("proxies", {}) if study.get("space") == space else {}


class UnknownProxyError(KnasError):
    pass


class ProxyNotApplicable(KnasError):
    """A proxy that cannot score a network: the message names what the network lacks."""


def unmet(name: str, capabilities) -> str | None:
    """Why a proxy cannot score networks that offer ``capabilities`` (None when it can)."""
    missing = [c for c in info(name).requires if c not in capabilities]
    if not missing:
        return None
    return f"{name} needs {' and '.join(DESCRIPTIONS[c] for c in missing)}"


def check_applicable(name: str, net) -> None:
    """Refuse to run a proxy on a network that lacks what it needs (found on the network)."""
    from knas.spaces.contract import capabilities_of

    why = unmet(name, capabilities_of(net))
    if why:
        raise ProxyNotApplicable(f"{why}, which this network does not offer")


def info(name: str) -> ProxyInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownProxyError(
            f"unknown proxy {name!r}; available: {', '.join(CATALOG)}"
        ) from None


def shared_function(name: str):
    """The function that computes a proxy's pass (imports torch on first use). It returns a
    float, or, for a function several entries share, a dict of their values by name."""
    meta = info(name)
    module = importlib.import_module(f"{__name__}.{meta.module}")
    return getattr(module, meta.function_name)


def get(name: str):
    """The function computing one proxy's score as a float, even when its pass is shared."""
    function = shared_function(name)
    if not info(name).function:
        return function

    @functools.wraps(function)
    def one(net, x, y, **options) -> float:
        value = function(net, x, y, **options)
        return value[name] if isinstance(value, dict) else value
    return one


def oriented(name: str, value: float) -> float:
    """A score turned so that bigger is better (names outside the catalogue, such as an
    ensemble's aggregate rank, are bigger-is-better already)."""
    meta = CATALOG.get(name)
    return -value if meta is not None and not meta.bigger_is_better else value
