"""The data set catalogue: what the app knows about each data set it reads, in one table.

Labels, the official folder a download extracts to, the number of classes, the image side, the
training split a fine stage trains on (90% of the training images; 10% are held out for
validation) and the per-channel normalisation. A search space's ground-truth columns for a data
set live with the space (``SearchSpace.truth_columns``). Pure data, torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass

from knas.errors import KnasError


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # our name: cifar10, cifar100, imagenet16-120
    label: str  # for people
    folder: str  # the official folder the files live in
    num_classes: int
    image_side: int  # images are image_side x image_side
    train_split: int  # training images a fine stage trains on (90% of the training set)
    mean: tuple  # per RGB channel, 0..1 scale (NAS-Bench-201's constants)
    std: tuple


CATALOG = {d.name: d for d in [
    DatasetInfo("cifar10", "CIFAR-10", "cifar-10-batches-py", 10, 32, 45_000,
                (125.3 / 255, 123.0 / 255, 113.9 / 255), (63.0 / 255, 62.1 / 255, 66.7 / 255)),
    DatasetInfo("cifar100", "CIFAR-100", "cifar-100-python", 100, 32, 45_000,
                (129.3 / 255, 124.1 / 255, 112.4 / 255), (68.2 / 255, 65.4 / 255, 70.4 / 255)),
    DatasetInfo("imagenet16-120", "ImageNet16-120", "ImageNet16", 120, 16, 136_530,
                (122.68 / 255, 116.66 / 255, 104.01 / 255), (63.22 / 255, 61.26 / 255, 65.09 / 255)),
]}
NAMES = tuple(CATALOG)


class UnknownDatasetError(KnasError, ValueError):
    pass


def text_names() -> tuple:
    """The text data sets (``knas.data.text``): the catalogued ones and a user's own file."""
    from knas.data import text

    return (*text.NAMES, text.USER)


def all_names() -> tuple:
    """Every data set a search can name: the image ones, then the text ones."""
    return (*NAMES, *text_names())


def is_text(name: str) -> bool:
    return name in text_names()


def info(name: str):
    """An image data set's ``DatasetInfo``, or a text data set's entry (``knas.data.text``)."""
    if name in CATALOG:
        return CATALOG[name]
    if is_text(name):
        from knas.data import text

        return text.text_info(name) if name in text.CATALOG else text.USER_INFO
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; choose one of {', '.join((*NAMES, *text_names()))}")
