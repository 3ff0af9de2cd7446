"""The text cell network: frozen-encoder token features in, class logits out.

``x`` is a batch of token features (B, L, D) from the frozen encoder, padded on the right with
all-zero rows (``knas.text.features``), or of token ids (B, L) padded with id 0 for networks that
learn their own embeddings (``knas.text.tokens``); the mask is read off the padding once and
handed to every op, so padding never changes an output: every op zeroes padded positions, the convolution sees
zeros beyond a text's end as it would see its own zero padding, the pool averages real tokens
only and attention never attends to padding. LayerNorm rather than BatchNorm keeps every sample
independent (MGM's one-pass form is exact) and padding-free.

Network: a linear projection to ``WIDTH`` (or an embedding table of ``WIDTH``-wide vectors learned
from scratch) and a ReLU → ``CELLS`` stacked cells → masked mean over tokens →
LayerNorm → a linear classifier.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

WIDTH, CELLS, HEADS = 64, 2, 4


def mask_of(x: torch.Tensor) -> torch.Tensor:
    """(B, L, 1) float: 1 for real tokens, 0 for padding (all-zero feature rows, or id 0)."""
    if not x.is_floating_point():
        return (x != 0).unsqueeze(-1).float()
    return (x != 0).any(dim=-1, keepdim=True).to(x.dtype)


def first_stage(features: int, vocab: int, width: int) -> nn.Module:
    """What turns the input into ``width``-wide tokens: a linear projection of the frozen
    encoder's features, or (``vocab`` > 0) an embedding table learned from scratch."""
    return nn.Embedding(vocab, width, padding_idx=0) if vocab else nn.Linear(features, width)


class Conv(nn.Module):
    """ReLU → 1-D convolution over tokens (kernel 3, same length) → LayerNorm."""

    def __init__(self, width):
        super().__init__()
        self.relu = nn.ReLU()  # a module: NASWOT and SWAP read its on/off patterns
        self.conv = nn.Conv1d(width, width, 3, padding=1, bias=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, h, mask):
        h = self.conv(self.relu(h).transpose(1, 2)).transpose(1, 2)
        return self.norm(h) * mask


class Attention(nn.Module):
    """LayerNorm → multi-head self-attention over the real tokens."""

    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, HEADS, batch_first=True)

    def forward(self, h, mask):
        q = self.norm(h)
        # The math kernel: proxies such as GraSP differentiate twice, which the fused CPU
        # kernel cannot.
        with sdpa_kernel(SDPBackend.MATH):
            out, _ = self.attn(q, q, q, key_padding_mask=mask[..., 0] == 0, need_weights=False)
        return out * mask


class Pool(nn.Module):
    """Average over a window of 3 tokens, counting real tokens only."""

    def forward(self, h, mask):
        window = nn.functional.avg_pool1d
        total = window((h * mask).transpose(1, 2), 3, 1, 1, count_include_pad=True)
        count = window(mask.transpose(1, 2), 3, 1, 1, count_include_pad=True)
        return (total / count.clamp_min(1e-6)).transpose(1, 2) * mask


class Skip(nn.Module):
    def forward(self, h, mask):
        return h


OP_MODULES = {"skip": Skip, "conv3": Conv, "attention": Attention, "pool3": Pool}


class Cell(nn.Module):
    """Node ``j`` is the sum of the ops on its edges from nodes ``i < j``; node 3 is the output."""

    def __init__(self, ops, edges, width):
        super().__init__()
        self.edges = tuple((dst, src, op) for (dst, src), op in zip(edges, ops) if op != "none")
        self.ops = nn.ModuleList(OP_MODULES[op](width) if op in ("conv3", "attention")
                                 else OP_MODULES[op]() for _, _, op in self.edges)

    def forward(self, h, mask):
        nodes = [h, None, None, None]
        for (dst, src, _), op in zip(self.edges, self.ops):
            if nodes[src] is None:
                continue
            out = op(nodes[src], mask)
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[3] if nodes[3] is not None else torch.zeros_like(h)


class TextNetwork(nn.Module):
    def __init__(self, ops, edges, features: int, num_classes: int, width=WIDTH, cells=CELLS,
                 vocab: int = 0):
        super().__init__()
        self.arch, self.num_classes = tuple(ops), num_classes
        self.input_kind = "tokens" if vocab else "continuous"
        self.project = first_stage(features, vocab, width)
        self.relu = nn.ReLU()  # every network offers ReLU units, whatever its cell
        self.cells = nn.ModuleList(Cell(ops, edges, width) for _ in range(cells))
        self.norm = nn.LayerNorm(width)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        mask = mask_of(x)
        h = self.relu(self.project(x)) * mask
        for cell in self.cells:
            h = cell(h, mask)
        pooled = h.sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
        return self.classifier(self.norm(pooled))


class StandardHead(nn.Module):
    """The encoder's usual classification head: the mean of the token features, then a linear
    classifier (what sentence-transformers' mean pooling feeds a classifier). With ``vocab`` > 0
    the tokens are ids and the features an embedding table learned from scratch, ``features``
    wide: the mean of a text's embeddings into a linear classifier, fastText's model (Joulin et
    al., EACL 2017)."""

    def __init__(self, features: int, num_classes: int, vocab: int = 0):
        super().__init__()
        self.arch, self.num_classes = ("standard_head",), num_classes
        self.input_kind = "tokens" if vocab else "continuous"
        self.embed = nn.Embedding(vocab, features, padding_idx=0) if vocab else None
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, x):
        mask = mask_of(x)
        h = self.embed(x) if self.embed is not None else x
        return self.classifier((h * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0))
