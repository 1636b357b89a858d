"""sia-tui: a terminal client for B2B sellers, after Marketo Sales Insight Actions."""

__version__ = "0.1.0"
