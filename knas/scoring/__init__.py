"""Cells to proxy scores: the scorer, the score cache and the backends that run it (worker
processes, several networks on one GPU, a Ray cluster)."""
