"""The ready-made scenario ``coding_agent``, kept here for the repository's paths.

It ships with the package as :mod:`agentsim.scenarios.coding_agent`; this file lets
``agentsim run scenarios/coding_agent.py`` work from a clone.
"""

from agentsim.scenarios.coding_agent import scenario

__all__ = ["scenario"]
