"""Text without any pretrained weights: token ids from a tokenizer trained on the data itself.

A user without the frozen encoder's files (``knas.text.encoder``) can still search: the
``text-scratch`` space's networks learn their own embeddings, and read token ids made here. The
tokenizer is a byte-pair encoding (the subword scheme of RoBERTa, the KNAS paper's text baseline)
trained by the ``tokenizers`` library on the training split's texts only — the test split is
read with the tokenizer of its training split, so nothing of the test texts leaks into the
vocabulary. BPE training is deterministic (checked in the tests), and the tokenizer and the ids
are cached on disk, keyed by the training data's content; the ids come back as a
``TextFeatures`` whose per-token features are ids (one int32 per token, 0 is padding).
"""
from __future__ import annotations

import hashlib
import time

import numpy as np

from knas import paths
from knas.data import text as text_data
from knas.text.features import TextFeatures, cached, max_tokens_for, save

VOCAB = 8192  # subword vocabulary, specials included
SPECIALS = ("[PAD]", "[UNK]", "[SEP]")  # [PAD] is id 0: the networks read id 0 as padding
NAME = "bpe"


def _train(data, max_tokens: int):
    """A BPE tokenizer trained on ``data``'s texts (pairs join as ``a [SEP] b``)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=list(SPECIALS),
                                  show_progress=False)
    tokenizer.train_from_iterator([*data.texts, *(data.texts_b or ())], trainer)
    sep = tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A", pair="$A [SEP] $B:1", special_tokens=[("[SEP]", sep)])
    tokenizer.enable_truncation(max_tokens, strategy="longest_first")
    return tokenizer


def tokenizer_for(name: str, path, max_tokens: int):
    """The tokenizer of ``name``'s training split: read from the cache, or trained and cached."""
    from tokenizers import Tokenizer

    train = text_data.load_text(name, path, "train")
    cache = paths.root() / "text_features" / f"{name}-{NAME}{VOCAB}-{train.digest()}-{max_tokens}.json"
    if cache.is_file():
        return Tokenizer.from_file(str(cache))
    tokenizer = _train(train, max_tokens)
    tmp = cache.with_name(f"{cache.stem}.tmp")
    cache.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(tmp))
    tmp.replace(cache)
    return tokenizer


def load(name: str, path, split: str = "train", device: str = "cpu", progress=None) -> TextFeatures:
    """One split as cached token ids (see the module doc); ``device`` and ``progress`` are
    accepted like ``knas.text.features.load``'s, as tokenizing takes a second."""
    data = text_data.load_text(name, path, split)
    max_tokens = max_tokens_for(name)
    tokenizer = tokenizer_for(name, path, max_tokens)
    vocab_id = f"{NAME}{VOCAB}@{hashlib.sha256(tokenizer.to_str().encode()).hexdigest()[:16]}"
    cache, common, stored = cached(name, split, data, vocab_id, max_tokens)
    if stored is not None:
        return stored
    start = time.time()
    inputs = list(data.texts) if data.texts_b is None else list(zip(data.texts, data.texts_b))
    encodings = tokenizer.encode_batch(inputs)
    ids = np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in encodings] or [np.zeros(0, np.int32)])
    offsets = np.concatenate([[0], np.cumsum([len(e.ids) for e in encodings])]).astype(np.int64)
    truncated = sum(bool(e.overflowing) for e in encodings)
    save(cache, features=ids, offsets=offsets, truncated=np.int64(truncated))
    if progress:
        progress(len(data), len(data))
    return TextFeatures(features=ids, offsets=offsets, truncated=truncated,
                        encode_seconds=time.time() - start, **common)
