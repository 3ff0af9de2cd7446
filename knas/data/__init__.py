"""Data sets: the catalogue of what the app knows about each, readers of the official formats,
seeded samples and tensors, downloads, and ground-truth tables."""
