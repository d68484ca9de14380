"""Old import path, kept so existing imports work.

The module is now :mod:`agentsim.worlds.abduced`. Layer: causal.
"""

from agentsim.worlds.abduced import *  # noqa: F403
from agentsim.worlds.abduced import __all__ as __all__
