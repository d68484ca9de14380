"""Ready-made scenarios, each a module exposing a module-level ``scenario``."""
