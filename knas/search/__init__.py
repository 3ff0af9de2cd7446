"""A search: its settings (config, specs), its pipeline and events, classic strategies, short
training and the work estimate."""
