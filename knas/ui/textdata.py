"""The Data page's text section, as data: each text data set's state, the frozen encoder's, and
a saved path checked by reading it (text files are small; nothing here loads torch)."""
from __future__ import annotations

from pathlib import Path

from knas import fmt
from knas.data import text
from knas.text import encoder


def encoder_state() -> tuple[str, bool]:
    """The encoder's files: where they are, or how to provide them."""
    try:
        folder = encoder.locate()
    except encoder.EncoderMissing as err:
        return str(err), False
    return f"{encoder.NAME} (frozen, {encoder.WIDTH} wide) at {folder}", True


def dataset_state(name: str, path: str) -> tuple[str, bool]:
    """A one-line state for a text data set's saved path, judged by file names."""
    if not path:
        return "not set", False
    if not Path(path).exists():
        return f"{fmt.clip(path, 200)} does not exist", False
    if name not in text.text_kinds(path):
        return f"{fmt.clip(path, 200)} holds no {text.text_info(name).label} files", False
    return f"at {fmt.clip(path, 200)}", True


def check(name: str, path) -> str:
    """Read both splits of a text data set (raising its one-line error); their sizes in words."""
    train = text.load_text(name, path, "train")
    test = text.load_text(name, path, "test")
    kind = "sentence pairs" if train.texts_b is not None else "texts"
    return (f"{len(train):,} training and {len(test):,} test {kind}, {train.num_classes} classes "
            f"({', '.join(train.classes)})")
