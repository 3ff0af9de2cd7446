"""Published NAS-Bench-201 results: 200-epoch test accuracy (mean ± std over runs) of the cell
each method found, per dataset, with where each figure comes from and how it was checked; search
seconds where a source gives them.

No primary paper text was readable here (no internet; stored copies hold abstracts only), so a
figure is listed when at least two independent reprints agree, or when it is quoted in this
project's issue from the paper; ``checked`` says which. Left out, because reprints disagree
(three different sets of rows circulate, likely the paper's BN=0/BN=1 variants, AutoDL-Projects
issue #70): RSPS, ENAS and SETN accuracies. NAS-Bench-201 searched on CIFAR-10 only and reported
the found cells on all three datasets (issue #96); its rows are those. Torch-free.
"""
from __future__ import annotations

from knas.results.references import Reference

NB201_PAPER = ("Dong & Yang, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture "
               "Search, ICLR 2020, Table 5 (mean ± std of 500 runs; searched on CIFAR-10 with a "
               "12,000 s budget)")
KNAS_PAPER = "Xu et al., KNAS: Green Neural Architecture Search, ICML 2021, NAS-Bench-201 results"
_BRIEF = ("quoted from the paper in this project's issue; not re-read here (the paper's text was "
          "not in the searchable sources)")
_TWO = "two or more independent reprints agree: {}"
_PWC = ("the paper's results as listed by Papers with Code for 'KNAS (k=40)' (hyper.ai copies it); "
        "table number, spread and search cost not re-read from the paper")
_TABLE = "equals the maximum of the shared 200-epoch table (tests/test_classic.py checks it)"
_REPRINTS = "ReLIZO (Table 2), GENIUS (Table 1), TE-NAS (Table 1), xfey/RMI-NAS README"
_COSTS = ("search seconds: mean of the per-seed times in D-X-Y/AutoDL-Projects "
          "exps/NAS-Bench-201/visualize.py just_show(), equal to xfey/RMI-NAS's README")
TENAS_PAPER = ("Chen, Gong & Wang, Neural Architecture Search on ImageNet in Four GPU Hours, "
               "ICLR 2021, Table 1")

REFERENCES = (
    Reference("REA", "cifar10", 93.92, 0.30, NB201_PAPER, _BRIEF),
    Reference("RS", "cifar10", 93.70, 0.36, NB201_PAPER, _BRIEF),
    Reference("REINFORCE", "cifar10", 93.85, 0.37, NB201_PAPER,
              _BRIEF + "; " + _TWO.format("RMI-NAS README, 'Early Exit' evolution paper")),
    Reference("BOHB", "cifar10", 93.61, 0.52, NB201_PAPER, _BRIEF),
    Reference("GDAS", "cifar10", 93.61, 0.09, NB201_PAPER, _TWO.format(_REPRINTS) + "; " + _COSTS,
              31609.8),
    Reference("GDAS", "cifar100", 70.70, 0.30, NB201_PAPER, _TWO.format(_REPRINTS)),
    Reference("GDAS", "imagenet16-120", 41.71, 0.98, NB201_PAPER, _TWO.format(_REPRINTS)),
    Reference("DARTS-V2", "cifar10", 54.30, 0.00, NB201_PAPER, _TWO.format(_REPRINTS) + "; " + _COSTS,
              35781.8),
    Reference("DARTS-V2", "cifar100", 15.61, 0.00, NB201_PAPER, _TWO.format(_REPRINTS)),
    Reference("DARTS-V2", "imagenet16-120", 16.32, 0.00, NB201_PAPER, _TWO.format(_REPRINTS)),
    Reference("ResNet", "cifar10", 93.97, None, NB201_PAPER, _TWO.format("TE-NAS, DAG, Early Exit")),
    Reference("ResNet", "cifar100", 70.86, None, NB201_PAPER, _TWO.format("TE-NAS, DAG, Early Exit")),
    Reference("ResNet", "imagenet16-120", 43.63, None, NB201_PAPER,
              _TWO.format("TE-NAS, DAG, Early Exit")),
    Reference("TE-NAS", "cifar10", 93.9, 0.47, TENAS_PAPER, _TWO.format("TE-NAS's own Table 1, DAG"),
              1558.0),
    Reference("KNAS", "cifar10", 93.43, None, KNAS_PAPER, _PWC),
    Reference("KNAS", "cifar100", 71.05, None, KNAS_PAPER, _PWC),
    Reference("KNAS", "imagenet16-120", 45.05, None, KNAS_PAPER, _PWC),
    Reference("optimal", "cifar10", 94.37, None, "NAS-Bench-201: best cell in the space (index 6111)",
              _TABLE),
    Reference("optimal", "cifar100", 73.51, None, "NAS-Bench-201: best cell in the space (index 9930)",
              _TABLE),
    Reference("optimal", "imagenet16-120", 47.31, None, "NAS-Bench-201: best cell in the space",
              _TABLE),
)
