"""The package version, in one place (kernel layer)."""

__version__ = "0.1.0"
