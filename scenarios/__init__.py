"""Thin copies of :mod:`agentsim.scenarios` for running by path from a clone."""
