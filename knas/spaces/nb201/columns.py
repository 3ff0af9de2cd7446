"""NAS-Bench-201's facts per data set, in one table: the column names of its ground-truth tables
(200-epoch accuracies, 12-epoch accuracies, parameter counts, seed counts, recorded training
costs) with where each comes from in an official file, the simulated multi-trial searches'
budgets and the fallback training-cost model. Other modules derive their column lists from here,
so a column is named in exactly one place. Pure data, torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FULL_EPOCHS = 200  # the full schedule: what the accuracy and cost columns record
SHORT_EPOCHS = 12  # the short schedule: the 12-epoch table


@dataclass(frozen=True)
class BenchmarkDataset:
    name: str  # knas.data.datasets name: cifar10, cifar100, imagenet16-120
    nb201_name: str  # NAS-Bench-201's name of the data set (cost records, parameter counts)
    valid_column: str  # 200-epoch validation accuracy: what a search may pick by
    test_column: str  # 200-epoch test accuracy: what a search reports
    table12_column: str  # 12-epoch test accuracy (the cheap fine stage's lookup)
    params_column: str  # parameters in millions, as the benchmark recorded them
    seeds_column: str  # how many seeds the 200-epoch means are over
    cost_column: str  # recorded seconds to train the cell for 200 epochs (costs table)
    # Simulated multi-trial searches (knas.search.classic): NAS-Bench-201's budget (every script
    # passes --time_budget 12000) and NATS-Bench's (exps/NATS-algos/run-all.sh).
    nb201_budget: float
    nats_budget: float
    default_budget: float
    # Fallback 200-epoch seconds = c . [1, MFLOPs, n_conv, n_skip, n_pool] (knas.spaces.nb201.traincost)
    cost_fit: tuple
    # accuracy column -> (NAS-Bench-201 dataset, evaluation set) in an official .pth file
    nb201_accuracies: dict = field(default_factory=dict)
    nb201_seeds: str = ""  # the NAS-Bench-201 dataset whose seeds ``seeds_column`` counts


BY_DATASET = {d.name: d for d in [
    BenchmarkDataset(
        "cifar10", "cifar10", valid_column="cifar10_valid", test_column="cifar10_test",
        table12_column="cifar10_test_12ep", params_column="params_mb_c10",
        seeds_column="n_seeds_c10valid", cost_column="train_seconds_200ep_cifar10_valid",
        nb201_budget=12000.0, nats_budget=20000.0, default_budget=12000.0,
        cost_fit=(682.5573, 3.4997, 332.7872, -37.7765, 166.4140),
        nb201_accuracies={"cifar10_valid": ("cifar10-valid", "x-valid"),
                          "cifar10_test": ("cifar10", "ori-test")},
        nb201_seeds="cifar10-valid"),
    BenchmarkDataset(
        "cifar100", "cifar100", valid_column="cifar100_valid", test_column="cifar100_test",
        table12_column="cifar100_test_12ep", params_column="params_mb_c100",
        seeds_column="n_seeds_c100", cost_column="train_seconds_200ep_cifar100",
        nb201_budget=12000.0, nats_budget=40000.0, default_budget=40000.0,
        cost_fit=(1365.0737, 6.9994, 665.5744, -75.5531, 332.8279),
        nb201_accuracies={"cifar100_valid": ("cifar100", "x-valid"),
                          "cifar100_test": ("cifar100", "x-test"),
                          "cifar100_valtest": ("cifar100", "ori-test")},
        nb201_seeds="cifar100"),
    BenchmarkDataset(
        "imagenet16-120", "ImageNet16-120", valid_column="imagenet16_valid",
        test_column="imagenet16_test", table12_column="imagenet16_test_12ep",
        params_column="params_mb_img", seeds_column="n_seeds_img",
        cost_column="train_seconds_200ep_imagenet16",
        nb201_budget=12000.0, nats_budget=120000.0, default_budget=120000.0,
        cost_fit=(4141.1092, 84.9449, 2019.3527, -229.2281, 1009.7999),
        nb201_accuracies={"imagenet16_valid": ("ImageNet16-120", "x-valid"),
                          "imagenet16_test": ("ImageNet16-120", "x-test"),
                          "imagenet16_valtest": ("ImageNet16-120", "ori-test")},
        nb201_seeds="ImageNet16-120"),
]}
NAMES = tuple(BY_DATASET)


def accuracy_columns() -> dict:
    """Every 200-epoch accuracy column -> (NAS-Bench-201 dataset, evaluation set)."""
    return {col: source for d in BY_DATASET.values() for col, source in d.nb201_accuracies.items()}


def params_columns() -> dict:
    """Parameter-count column -> the data set's entry."""
    return {d.params_column: d for d in BY_DATASET.values()}


def lookup_epochs(column: str) -> int:
    """How many epochs of training a looked-up accuracy column stands for: 12 for a 12-epoch
    table column, else the full 200 (what a lookup fine stage would have cost to train)."""
    table12 = {d.table12_column for d in BY_DATASET.values()}
    return SHORT_EPOCHS if column in table12 or column.endswith("_12ep") else FULL_EPOCHS
