"""A NAS-Bench-201-shaped cell over any op set: 4 nodes, one op on each of the 6 edges, written
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node by node, each edge's op and its input node).

A space of such cells (the text space) hands this module its ops, which of them is the zero op
and which the identity; the grammar, which edges can affect the output, the canonical form of
cells computing the same function and the diagram follow. Torch-free.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from knas.spaces.base import ArchError, did_you_mean
from knas.spaces.diagram import RADIUS, Diagram, Edge, Node

# (to_node, from_node) in the order the arch string lists them.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_NODES = 4
_NODE_RE = re.compile(r"^\|(.*)\|$")


@dataclass(frozen=True)
class CellGrammar:
    ops: tuple  # in index order
    zero: str  # the op that carries nothing
    identity: str  # the op that passes its input unchanged
    labels: dict = field(default_factory=dict)  # op -> short label for diagrams
    colours: dict = field(default_factory=dict)  # op -> colour (the zero op is not drawn)

    def parse(self, text) -> tuple:
        if not isinstance(text, str):
            raise ArchError(f"arch string must be a str, got {type(text).__name__}")
        nodes = text.strip().split("+")
        if not text.strip():
            raise ArchError("empty arch string")
        if len(nodes) != N_NODES - 1:
            raise ArchError(f"expected {N_NODES - 1} nodes separated by '+', found {len(nodes)} "
                            f"(e.g. {self.format((self.ops[1],) * len(EDGES))})")
        ops = []
        for node, node_text in enumerate(nodes, start=1):
            match = _NODE_RE.match(node_text)
            if not match:
                raise ArchError(f"node {node} must look like '|op~0|...|', got {node_text[:80]!r}")
            edges = match.group(1).split("|")
            if len(edges) != node:
                raise ArchError(f"node {node} must have {node} incoming edge(s), found {len(edges)}")
            for expected, edge in enumerate(edges):
                op, sep, src = edge.partition("~")
                if not sep:
                    raise ArchError(f"edge {edge[:80]!r} of node {node} lacks '~<input node>'")
                if op not in self.ops:
                    raise ArchError(f"unknown op {op[:80]!r} in node {node}"
                                    f"{did_you_mean(op, self.ops)}; valid ops: {', '.join(self.ops)}")
                if src != str(expected):
                    raise ArchError(f"edge {edge[:80]!r} of node {node}: input node must be "
                                    f"{expected}, got {src[:20]!r}")
                ops.append(op)
        return tuple(ops)

    def format(self, ops) -> str:
        parts, i = [], 0
        for node in range(1, N_NODES):
            parts.append("|" + "|".join(f"{ops[i + j]}~{j}" for j in range(node)) + "|")
            i += node
        return "+".join(parts)

    def live(self, ops) -> tuple:
        """Which edges can affect the output: not the zero op, fed from the input, reaching the
        output."""
        fed = {0}
        for (dst, src), op in zip(EDGES, ops):
            if op != self.zero and src in fed:
                fed.add(dst)
        reaches = {N_NODES - 1}
        for (dst, src), op in reversed(list(zip(EDGES, ops))):
            if op != self.zero and dst in reaches:
                reaches.add(src)
        return tuple(op != self.zero and src in fed and dst in reaches
                     for (dst, src), op in zip(EDGES, ops))

    def canonical(self, ops) -> str:
        """Equal for cells computing the same function at initialisation: each node is the
        sorted sum of its live inputs, the identity passes its input, the zero op and inputs
        that carry nothing drop out; parameterised ops keep their identity."""
        exprs: list = ["x"] + [None] * (N_NODES - 1)
        for node in range(1, N_NODES):
            terms = [exprs[src] if op == self.identity else f"{op}({exprs[src]})"
                     for (dst, src), op in zip(EDGES, ops)
                     if dst == node and op != self.zero and exprs[src] is not None]
            exprs[node] = "+".join(sorted(terms)) if terms else None
        return exprs[-1] or "zero"

    def diagram(self, ops) -> Diagram:
        """Four nodes left to right, one curved arrow per op that is not the zero op, faded when
        it cannot affect the output."""
        edges = []
        for (dst, src), op, live in zip(EDGES, ops, self.live(ops)):
            if op == self.zero:
                continue
            p0, p1 = (_XS[src], _BASE_Y), (_XS[dst], _BASE_Y)
            c = ((p0[0] + p1[0]) / 2, _BASE_Y + _BEND[dst - src])
            a, b = _towards(p0, c, RADIUS), _towards(p1, c, RADIUS)
            ux, uy = _unit(b, c)  # from the head back along the curve
            base = (b[0] + ux * 8, b[1] + uy * 8)
            arrow = (b, (base[0] - uy * 4.5, base[1] + ux * 4.5),
                     (base[0] + uy * 4.5, base[1] - ux * 4.5))
            edges.append(Edge(op, live, a, c, b, arrow, _point(p0, c, p1, 0.5), self.labels[op],
                              self.colours[op]))
        captions = {0: "input", N_NODES - 1: "output"}
        nodes = tuple(Node(str(n), x, _BASE_Y, captions.get(n, "")) for n, x in enumerate(_XS))
        legend = tuple((colour, self.labels[op]) for op, colour in self.colours.items())
        return Diagram(WIDTH, HEIGHT, nodes, tuple(edges), legend)


WIDTH, HEIGHT = 356, 150
_XS = (28, 128, 228, 328)  # node centres
_BASE_Y = 62
_BEND = {1: 0, 2: -86, 3: 116}  # control-point offset by how many nodes an edge spans


def _point(p0, c, p1, t):
    return tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * d for a, b, d in zip(p0, c, p1))


def _unit(frm, to):
    dx, dy = to[0] - frm[0], to[1] - frm[1]
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _towards(point, target, distance):
    ux, uy = _unit(point, target)
    return point[0] + ux * distance, point[1] + uy * distance
