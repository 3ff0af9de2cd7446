"""The dataset catalogue: everything the app knows about each NAS-Bench-201 dataset, in one table.

Labels, the official folder a download extracts to, the number of classes, and the column names
of every ground-truth table (200-epoch accuracies, 12-epoch accuracies, parameter counts, seed
counts, training costs) with where each comes from in an official NAS-Bench-201 file. Other
modules derive their column lists from here, so a column is named in exactly one place.
Pure data, torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import KnasError


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # our name: cifar10, cifar100, imagenet16-120
    label: str  # for people
    folder: str  # the official folder the files live in
    num_classes: int
    image_side: int  # images are image_side x image_side
    nb201_name: str  # NAS-Bench-201's name of the dataset (cost records, parameter counts)
    valid_column: str  # 200-epoch validation accuracy: what a search may pick by
    test_column: str  # 200-epoch test accuracy: what a search reports
    table12_column: str  # 12-epoch test accuracy (the cheap fine stage's lookup)
    params_column: str  # parameters in millions, as the benchmark recorded them
    seeds_column: str  # how many seeds the 200-epoch means are over
    cost_column: str  # recorded seconds to train the cell for 200 epochs (costs table)
    # accuracy column -> (NAS-Bench-201 dataset, evaluation set) in an official .pth file
    nb201_accuracies: dict = field(default_factory=dict)
    nb201_seeds: str = ""  # the NAS-Bench-201 dataset whose seeds ``seeds_column`` counts


CATALOG = {d.name: d for d in [
    DatasetInfo(
        "cifar10", "CIFAR-10", "cifar-10-batches-py", 10, 32, "cifar10",
        valid_column="cifar10_valid", test_column="cifar10_test",
        table12_column="cifar10_test_12ep", params_column="params_mb_c10",
        seeds_column="n_seeds_c10valid", cost_column="train_seconds_200ep_cifar10_valid",
        nb201_accuracies={"cifar10_valid": ("cifar10-valid", "x-valid"),
                          "cifar10_test": ("cifar10", "ori-test")},
        nb201_seeds="cifar10-valid"),
    DatasetInfo(
        "cifar100", "CIFAR-100", "cifar-100-python", 100, 32, "cifar100",
        valid_column="cifar100_valid", test_column="cifar100_test",
        table12_column="cifar100_test_12ep", params_column="params_mb_c100",
        seeds_column="n_seeds_c100", cost_column="train_seconds_200ep_cifar100",
        nb201_accuracies={"cifar100_valid": ("cifar100", "x-valid"),
                          "cifar100_test": ("cifar100", "x-test"),
                          "cifar100_valtest": ("cifar100", "ori-test")},
        nb201_seeds="cifar100"),
    DatasetInfo(
        "imagenet16-120", "ImageNet16-120", "ImageNet16", 120, 16, "ImageNet16-120",
        valid_column="imagenet16_valid", test_column="imagenet16_test",
        table12_column="imagenet16_test_12ep", params_column="params_mb_img",
        seeds_column="n_seeds_img", cost_column="train_seconds_200ep_imagenet16",
        nb201_accuracies={"imagenet16_valid": ("ImageNet16-120", "x-valid"),
                          "imagenet16_test": ("ImageNet16-120", "x-test"),
                          "imagenet16_valtest": ("ImageNet16-120", "ori-test")},
        nb201_seeds="ImageNet16-120"),
]}
NAMES = tuple(CATALOG)


class UnknownDatasetError(KnasError, ValueError):
    pass


def info(name: str) -> DatasetInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}") from None


def test_column(name: str) -> str:
    """The column a search reports for a dataset ("" for a name the catalogue lacks)."""
    return CATALOG[name].test_column if name in CATALOG else ""


def accuracy_columns() -> dict:
    """Every 200-epoch accuracy column -> (NAS-Bench-201 dataset, evaluation set)."""
    return {col: source for d in CATALOG.values() for col, source in d.nb201_accuracies.items()}


def params_columns() -> dict:
    """Parameter-count column -> the dataset's catalogue entry."""
    return {d.params_column: d for d in CATALOG.values()}


FULL_EPOCHS = 200  # NAS-Bench-201's full schedule: what the accuracy and cost columns record
SHORT_EPOCHS = 12  # its short schedule: the 12-epoch table


def lookup_epochs(column: str) -> int:
    """How many epochs of training a looked-up accuracy column stands for: 12 for a 12-epoch
    table column, else the full 200 (what a lookup fine stage would have cost to train)."""
    table12 = {d.table12_column for d in CATALOG.values()}
    return SHORT_EPOCHS if column in table12 or column.endswith("_12ep") else FULL_EPOCHS
