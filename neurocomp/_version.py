"""The package version, in one place low in the house (reports record it)."""

__version__ = "0.1.0"
