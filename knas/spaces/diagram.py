"""A cell's picture as geometry, space-independent: the SVG (``knas.results.cellsvg``) and the
matplotlib summary (``knas.results.staticfigs``) draw what a space's ``diagram`` returns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edge:
    """One drawn connection of a diagram: a quadratic curve between two node circles (trimmed to
    them), its arrowhead and its label pill; ``live`` False draws it dashed and faded."""
    choice: object
    live: bool
    start: tuple
    control: tuple
    end: tuple
    arrow: tuple  # three (x, y) corners
    label_at: tuple
    label: str
    colour: str


@dataclass(frozen=True)
class Node:
    number: str
    x: float
    y: float
    caption: str = ""


@dataclass(frozen=True)
class Diagram:
    """A cell's picture as geometry: the SVG (``knas.results.cellsvg``) and the matplotlib
    summary (``knas.results.staticfigs``) draw the same thing from it."""
    width: float
    height: float
    nodes: tuple
    edges: tuple
    legend: tuple  # (colour, label) per choice that has a colour


NEUTRAL = "#555555"
RADIUS = 14
