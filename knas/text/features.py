"""Text data as the text cells see it: the frozen encoder's token features, computed once.

``load(name, path, split)`` reads a text data set (``knas.data.text``), encodes every text with
the frozen encoder (``knas.text.encoder``) and caches the features on disk, keyed by the data's
content, the encoder's weights and the token limit, so every later search, score and training
run of that data reads them back in a second. Features are stored packed (the real tokens of all
texts one after another, float16) and padded per batch with all-zero rows, which the networks
read as padding. The object returned stands where an image ``Dataset`` stands: ``len``,
``labels``, ``num_classes``, ``tensors(indices, device)`` and ``digest(indices)``. The same
object carries token ids instead of features for networks that learn their own embeddings
(``knas.text.tokens``): one int32 per token, 0 is padding.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knas import paths
from knas.data import text as text_data
from knas.text import encoder as text_encoder

BATCH = 64  # texts per encoder pass


@dataclass(frozen=True, eq=False)
class TextFeatures:
    name: str
    # every text's tokens, one after another: float16 (total tokens, width) features, or int32
    # (total tokens,) token ids
    features: np.ndarray
    offsets: np.ndarray  # int64 (N + 1,): text i is features[offsets[i]:offsets[i + 1]]
    labels: np.ndarray  # int64 (N,)
    num_classes: int
    classes: tuple = ()
    truncated: int = 0  # texts cut at max_tokens
    max_tokens: int = 0
    encoder: str = ""  # the encoder's name and weights hash (or the tokenizer's)
    encode_seconds: float = 0.0  # what computing the features took (0 when read from the cache)
    source: str = field(default="")

    def __post_init__(self):
        for array in (self.features, self.offsets, self.labels):
            array.setflags(write=False)

    def __len__(self) -> int:
        return len(self.labels)

    def tensors(self, indices=None, device="cpu"):
        """``(x, y)``: float32 (B, L, width) features padded with zero rows to the longest text
        of the batch (int64 (B, L) ids padded with 0 when the tokens are ids), and int64 labels."""
        import torch

        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        lengths = self.offsets[idx + 1] - self.offsets[idx]
        dtype = np.int64 if self.features.ndim == 1 else np.float32
        x = np.zeros((len(idx), int(lengths.max(initial=1)), *self.features.shape[1:]), dtype)
        for row, (i, n) in enumerate(zip(idx, lengths)):
            x[row, :n] = self.features[self.offsets[i]:self.offsets[i] + n]
        return (torch.from_numpy(x).to(device),
                torch.from_numpy(self.labels[idx].astype(np.int64)).to(device))

    def digest(self, indices) -> str:
        h = hashlib.sha256(self.encoder.encode())
        for i in np.asarray(indices, dtype=np.int64):
            h.update(self.features[self.offsets[i]:self.offsets[i + 1]].tobytes())
        h.update(self.labels[np.asarray(indices, dtype=np.int64)].tobytes())
        return h.hexdigest()[:16]


def max_tokens_for(name: str) -> int:
    info = text_data.CATALOG.get(name)
    return info.max_tokens if info is not None else 128


def cached(name: str, split: str, data, source_id: str, max_tokens: int):
    """``(cache file, fields every TextFeatures of this split shares, the stored TextFeatures or
    None)``: the file is keyed by the data's content, what made the tokens (``source_id``: the
    encoder's or tokenizer's hash) and the token limit."""
    cache = (paths.root() / "text_features"
             / f"{name}-{split}-{data.digest()}-{source_id.replace('@', '-')}-{max_tokens}.npz")
    common = dict(name=name, labels=np.asarray(data.labels, dtype=np.int64),
                  num_classes=data.num_classes, classes=tuple(data.classes),
                  max_tokens=max_tokens, encoder=source_id, source=str(data.source))
    if not cache.is_file():
        return cache, common, None
    with np.load(cache) as stored:
        return cache, common, TextFeatures(features=stored["features"], offsets=stored["offsets"],
                                           truncated=int(stored["truncated"]), **common)


def load(name: str, path, split: str = "train", device: str = "cpu", progress=None) -> TextFeatures:
    """One split as cached encoder features (see the module doc); ``progress(done, total)``."""
    data = text_data.load_text(name, path, split)
    folder = text_encoder.locate()
    encoder_id = f"{text_encoder.NAME}@{text_encoder.weights_digest(folder)}"
    max_tokens = max_tokens_for(name)
    cache, common, stored = cached(name, split, data, encoder_id, max_tokens)
    if stored is not None:
        return stored
    start = time.time()
    enc = text_encoder.Encoder(folder, max_tokens, device)
    chunks, lengths, truncated = [], [], 0
    for first in range(0, len(data), BATCH):
        b = None if data.texts_b is None else data.texts_b[first:first + BATCH]
        encodings = enc.tokenize(data.texts[first:first + BATCH], b)
        truncated += sum(bool(e.overflowing) for e in encodings)
        for tokens in enc.features(encodings):
            chunks.append(tokens.astype(np.float16))
            lengths.append(len(tokens))
        if progress:
            progress(min(first + BATCH, len(data)), len(data))
    features = np.concatenate(chunks)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    save(cache, features=features, offsets=offsets, truncated=np.int64(truncated))
    return TextFeatures(features=features, offsets=offsets, truncated=truncated,
                        encode_seconds=time.time() - start, **common)


def save(target: Path, **arrays) -> None:
    """Write the cache file whole or not at all (a full disk leaves no half file behind)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **arrays)
        tmp.replace(target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
