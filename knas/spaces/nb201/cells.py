"""The NAS-Bench-201 cell grammar: 5 ops on the 6 edges of a 4-node cell.

An architecture is a tuple of 6 op names in edge order ``EDGES``; the official string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` lists the same edges node by node. Index ``i`` here is
index ``i`` of NAS-Bench-201: the benchmark enumerates all cells (first edge most significant)
and then shuffles them with ``random.seed(88)``, and so do we.
"""
from __future__ import annotations

import difflib
import functools
import itertools
import random
import re

from knas.spaces import dag
from knas.spaces.base import ArchError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES, N_NODES = dag.EDGES, dag.N_NODES  # (to_node, from_node) in arch-string order; 4 nodes
N_ARCHS = len(OPS) ** len(EDGES)  # 15,625
_BENCHMARK_SHUFFLE_SEED = 88  # NAS-Bench-201's generate_meta_info

Arch = tuple  # tuple[str, ...] of length 6
GRAMMAR = dag.CellGrammar(OPS, "none", "skip_connect")  # edge liveness and the canonical form


_NODE_RE = re.compile(r"^\|(.*)\|$")


def _squash(name: str) -> str:
    """An op name without separators or the ``nor``/``avg`` prefixes: ``conv3x3``, ``pool3x3``."""
    return re.sub(r"^(nor|avg)", "", re.sub(r"[^a-z0-9]", "", str(name).lower()))


def did_you_mean(op) -> str:
    """`` (did you mean nor_conv_3x3?)`` for a mistyped op, or "" when nothing is close: the op
    whose squashed name equals, contains or is most like the typed one."""
    typed = _squash(op)
    if not typed:
        return ""
    squashed = {_squash(name): name for name in OPS}
    near = [name for key, name in squashed.items() if typed == key or (len(typed) >= 3 and (
        typed in key or key in typed))]
    if not near:
        near = [squashed[k] for k in difflib.get_close_matches(typed, list(squashed), n=1, cutoff=0.6)]
    return f" (did you mean {near[0]}?)" if len(near) == 1 else ""


def parse(text: str) -> Arch:
    """Parse an official arch string into a 6-tuple of op names, with a specific error if malformed."""
    if not isinstance(text, str):
        raise ArchError(f"arch string must be a str, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise ArchError("empty arch string")
    nodes = s.split("+")
    if len(nodes) != N_NODES - 1:
        raise ArchError(
            f"expected {N_NODES - 1} nodes separated by '+', found {len(nodes)} in {text!r}"
        )
    ops = []
    for node, node_text in enumerate(nodes, start=1):
        match = _NODE_RE.match(node_text)
        if not match:
            raise ArchError(
                f"node {node} must look like '|op~0|...|', got {node_text!r} "
                "(stray characters or a missing '|')"
            )
        edges = match.group(1).split("|")
        if len(edges) != node:
            raise ArchError(
                f"node {node} must have {node} incoming edge(s), found {len(edges)} in {node_text!r} "
                f"(a cell has {len(EDGES)} edges in all)"
            )
        for expected_input, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if not sep:
                raise ArchError(f"edge {edge!r} of node {node} lacks '~<input node>'")
            if op not in OPS:
                raise ArchError(f"unknown op {op!r} in node {node}{did_you_mean(op)}; valid ops: "
                                f"{', '.join(OPS)}")
            if not src.isdigit() or int(src) != expected_input:
                raise ArchError(
                    f"edge {edge!r} of node {node}: input node must be {expected_input}, got {src!r}"
                )
            ops.append(op)
    return tuple(ops)


def validate(arch) -> Arch:
    """Accept an arch string, index or op tuple; return the op tuple."""
    if isinstance(arch, str):
        return parse(arch)
    if isinstance(arch, int) and not isinstance(arch, bool):
        return arch_at(arch)
    ops = tuple(arch)
    if len(ops) != len(EDGES):
        raise ArchError(f"an arch has {len(EDGES)} edges, got {len(ops)}")
    for op in ops:
        if op not in OPS:
            raise ArchError(f"unknown op {op!r}{did_you_mean(op)}; valid ops: {', '.join(OPS)}")
    return ops


def to_str(arch) -> str:
    """Format an op tuple as the official arch string."""
    ops = validate(arch)
    parts, i = [], 0
    for node in range(1, N_NODES):
        parts.append("|" + "|".join(f"{ops[i + j]}~{j}" for j in range(node)) + "|")
        i += node
    return "+".join(parts)


@functools.lru_cache(maxsize=1)
def _benchmark_order() -> tuple:
    archs = list(itertools.product(OPS, repeat=len(EDGES)))
    random.Random(_BENCHMARK_SHUFFLE_SEED).shuffle(archs)
    return tuple(archs)


@functools.lru_cache(maxsize=1)
def _index_of_arch() -> dict:
    return {arch: i for i, arch in enumerate(_benchmark_order())}


def arch_at(index: int) -> Arch:
    """The architecture at a NAS-Bench-201 index."""
    if not isinstance(index, int) or isinstance(index, bool):
        raise ArchError(f"index must be an int, got {type(index).__name__}")
    if not 0 <= index < N_ARCHS:
        raise ArchError(f"index {index} out of range 0..{N_ARCHS - 1}")
    return _benchmark_order()[index]


def index_of(arch) -> int:
    """The NAS-Bench-201 index of an arch string or op tuple."""
    return _index_of_arch()[validate(arch)]


def all_archs() -> tuple:
    """All 15,625 architectures in benchmark index order."""
    return _benchmark_order()


def sample(n: int, seed: int) -> list[int]:
    """``n`` distinct indices drawn without replacement, reproducibly for a seed."""
    if not 0 <= n <= N_ARCHS:
        raise ValueError(f"cannot sample {n} architectures from a space of {N_ARCHS}")
    return random.Random(seed).sample(range(N_ARCHS), n)


def neighbours(arch) -> list[Arch]:
    """Every arch that differs from ``arch`` on exactly one edge (6 edges x 4 other ops = 24)."""
    ops = validate(arch)
    out = []
    for e, current in enumerate(ops):
        for op in OPS:
            if op != current:
                out.append(ops[:e] + (op,) + ops[e + 1:])
    return out


def live_edges(arch) -> tuple[bool, ...]:
    """Which edges can affect the cell output: not ``none``, fed from the input, reaching the output."""
    return GRAMMAR.live(validate(arch))


def canonical(arch) -> str:
    """A key equal for cells that compute the same function at initialisation (``skip_connect``
    is the identity, ``none`` and inputs that carry nothing drop out, two convs on the same
    input are two terms: ``knas.spaces.dag.CellGrammar.canonical``)."""
    return GRAMMAR.canonical(validate(arch))


@functools.lru_cache(maxsize=1)
def canonical_groups() -> dict[str, list[int]]:
    """Canonical key -> benchmark indices that share it."""
    groups: dict[str, list[int]] = {}
    for i, arch in enumerate(_benchmark_order()):
        groups.setdefault(canonical(arch), []).append(i)
    return groups


def representative(arch) -> int:
    """The lowest benchmark index among the cells that compute the same function as ``arch``;
    scoring that one cell stands for the whole group, whatever order a pool lists them in."""
    return canonical_groups()[canonical(arch)][0]


def count_unique() -> int:
    """How many distinct functions the 15,625 cells compute (by ``canonical``)."""
    return len(canonical_groups())


def benchmark_isomorphism_key(arch) -> str:
    """NAS-Bench-201's own isomorphism key (``to_unique_str(consider_zero=True)``), 6,466 classes.

    Looser than ``canonical``: it keeps zero terms in sums. NAS-Bench-201's 200-epoch cost
    records copy some cells' parameter counts from another member of this class, so a table
    checker needs it to tell that known defect from a real mismatch.
    """
    ops = validate(arch)
    nodes = ["0"]
    e = 0
    for node in range(1, N_NODES):
        terms = []
        for src in range(node):
            op = ops[e + src]
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        e += node
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]
