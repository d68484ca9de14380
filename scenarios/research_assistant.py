"""The ready-made scenario ``research_assistant``, kept here for the repository's paths.

It ships with the package as :mod:`agentsim.scenarios.research_assistant`; this file lets
``agentsim run scenarios/research_assistant.py`` work from a clone.
"""

from agentsim.scenarios.research_assistant import scenario

__all__ = ["scenario"]
