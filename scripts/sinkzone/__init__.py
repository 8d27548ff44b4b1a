"""sinkzone: zoning of ecosystem carbon-sink technologies (pure functions; no snakemake import)."""

__version__ = "0.1.0"
