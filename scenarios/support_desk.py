"""The ready-made scenario ``support_desk``, kept here for the repository's paths.

It ships with the package as :mod:`agentsim.scenarios.support_desk`; this file lets
``agentsim run scenarios/support_desk.py`` work from a clone.
"""

from agentsim.scenarios.support_desk import scenario

__all__ = ["scenario"]
