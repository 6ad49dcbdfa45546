"""Workshop kit: monitoring a sales-forecast model in production (EFK stack)."""

__version__ = "0.1.0"
