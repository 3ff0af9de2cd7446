"""KNAS Studio: training-free neural architecture search on the NAS-Bench-201 space."""

__version__ = "0.1.0"
