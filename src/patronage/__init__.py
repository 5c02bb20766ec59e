"""Patronage: a customer-first back office for direct-selling companies."""

__version__ = "0.1.0"
