"""Everything that reads a finished (or running) search: tables, statistics, plots, headlines,
reports and exported files. Torch-free."""
