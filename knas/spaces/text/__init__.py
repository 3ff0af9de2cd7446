"""Text cells on a frozen sentence encoder: the KNAS paper's text-classification search, small.

KNAS (Xu et al., ICML 2021, section 5.3) searches the module on top of a pretrained text
encoder. Here the encoder is a frozen MiniLM-L6 (``knas.text``) whose token features are
computed once and cached; the searched module is a NAS-Bench-201-shaped cell over token
sequences: 4 nodes, 6 edges, 5 ops (none, skip, a 1-D convolution of kernel 3, masked multi-head
self-attention, a masked average pool of 3 tokens) — 5^6 cells, indexed first edge most
significant, with the same arch-string grammar and the same dedupe of cells that compute the
same function (``knas.spaces.dag``). ``text-scratch`` is the same cells for a user without the
encoder's weights: its networks learn their own token embeddings from ids made by a tokenizer
trained on the data (``knas.text.tokens``). Torch-free except ``build``.
"""
from __future__ import annotations

import functools

from knas.spaces import contract, dag
from knas.spaces.base import Decision, SearchSpace

OPS = ("none", "skip", "conv3", "attention", "pool3")
FEATURES = 384  # the encoder's width (MiniLM-L6)
GRAMMAR = dag.CellGrammar(
    OPS, "none", "skip",
    labels={"none": "none", "skip": "skip", "conv3": "conv k3", "attention": "attention",
            "pool3": "pool"},
    colours={"attention": "#0072B2", "conv3": "#E69F00", "pool3": "#009E73", "skip": "#CC79A7"})


class TextSpace(SearchSpace):
    name = "text"
    label = "Text cells (frozen MiniLM encoder)"
    description = ("cells over token sequences on a frozen MiniLM-L6 encoder: 5 ops (none, "
                   "skip, conv k3, attention, pool) on the 6 edges of a 4-node cell, 2 cells "
                   "stacked, masked mean pooling, a linear classifier")
    cell_noun = "cell"
    datasets = ("sst2", "trec", "mrpc", "rte", "text")
    capabilities = frozenset({contract.RELU, contract.CONTINUOUS_INPUT, contract.WEIGHT_LAYERS})
    palette = GRAMMAR.colours
    # The fine stage's recipe for these networks: no image augmentation.
    train_recipe = {"augment": False, "lr": 0.05, "batch_size": 64}
    train_seconds_guess = 0.0005  # measured: about 2 s an epoch of TREC's 4,907 texts, 2 cores

    # Cached scores and trained results are keyed by this: a change to what the networks
    # compute must change it.
    cache_id = "text@2"

    def decisions(self) -> tuple:
        return tuple(Decision(f"edge_{dst}_{src}", f"edge {src}→{dst}", OPS)
                     for dst, src in dag.EDGES)

    def build(self, arch, num_classes: int, prune: bool = False):
        from knas.spaces.text import nets

        return nets.TextNetwork(self.validate(arch), dag.EDGES, FEATURES, num_classes)

    def build_reference(self, num_classes: int):
        """The baseline a searched cell must beat: the encoder's standard head."""
        from knas.spaces.text import nets

        return nets.StandardHead(FEATURES, num_classes)

    reference_label = "standard head (mean pooling + linear)"

    def load_data(self, dataset: str, path, split: str = "train"):
        """The frozen encoder's cached token features of one split."""
        from knas.text import features

        return features.load(dataset, path, split)

    def check_inputs(self) -> None:
        from knas.text import encoder

        encoder.locate()

    def parse(self, text) -> tuple:
        return GRAMMAR.parse(text)

    def format(self, arch) -> str:
        return GRAMMAR.format(self.validate(arch))

    def canonical(self, arch) -> str:
        return GRAMMAR.canonical(self.validate(arch))

    def representative(self, index: int) -> int:
        return self.same_function(index)[0]

    def same_function(self, index: int) -> list[int]:
        return _groups(self)[self.canonical(self.arch_at(self._check_index(index)))]

    def live(self, arch) -> tuple:
        return GRAMMAR.live(self.validate(arch))

    def choice_label(self, choice) -> str:
        return GRAMMAR.labels.get(choice, str(choice))

    def diagram(self, arch):
        return GRAMMAR.diagram(self.validate(arch))

    def count_params(self, arch, num_classes: int) -> int:
        """Projection, per cell each conv (3·C² + LayerNorm) and attention (LayerNorm + 4·C² +
        4·C), the final LayerNorm and the classifier."""
        from knas.spaces.text.nets import CELLS, WIDTH as C

        per_op = {"conv3": 3 * C * C + 2 * C, "attention": 2 * C + 4 * C * C + 4 * C}
        cell = sum(per_op.get(op, 0) for op in self.validate(arch))
        return FEATURES * C + C + CELLS * cell + 2 * C + C * num_classes + num_classes


class ScratchTextSpace(TextSpace):
    """The text cells without pretrained weights: token ids in, embeddings learned from scratch
    (``VOCAB`` x ``nets.WIDTH``) in place of the frozen encoder and its projection."""
    name = "text-scratch"
    label = "Text cells (embeddings learned from scratch)"
    description = ("the text cells for a machine without the encoder's weights: a tokenizer "
                   "trained on the data, token embeddings learned from scratch, then the same "
                   "cells, pooling and classifier")
    # ids are not a continuous input, and the embedding table is not a layer weight
    capabilities = frozenset({contract.RELU})
    cache_id = "text-scratch@1"
    reference_label = "fastText head (mean of learned embeddings + linear)"

    def build(self, arch, num_classes: int, prune: bool = False):
        from knas.spaces.text import nets
        from knas.text.tokens import VOCAB

        return nets.TextNetwork(self.validate(arch), dag.EDGES, 0, num_classes, vocab=VOCAB)

    def build_reference(self, num_classes: int):
        from knas.spaces.text import nets
        from knas.text.tokens import VOCAB

        return nets.StandardHead(nets.WIDTH, num_classes, vocab=VOCAB)

    def load_data(self, dataset: str, path, split: str = "train"):
        """Token ids of one split, from the tokenizer trained on its training split."""
        from knas.text import tokens

        return tokens.load(dataset, path, split)

    def check_inputs(self) -> None:
        """Nothing to fetch: the tokenizer is trained on the data."""

    def count_params(self, arch, num_classes: int) -> int:
        """The frozen-encoder network's count with the projection (``FEATURES`` x C + C) replaced
        by the embedding table (``VOCAB`` x C)."""
        from knas.spaces.text.nets import WIDTH as C
        from knas.text.tokens import VOCAB

        return super().count_params(arch, num_classes) - (FEATURES * C + C) + VOCAB * C


@functools.lru_cache(maxsize=4)
def _groups(space) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index in range(space.size):
        groups.setdefault(GRAMMAR.canonical(space.arch_at(index)), []).append(index)
    return groups
