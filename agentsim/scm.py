"""Old import path, kept so existing imports work.

The module is now :mod:`agentsim.worlds.graph`. Layer: causal.
"""

from agentsim.worlds.graph import *  # noqa: F403
from agentsim.worlds.graph import __all__ as __all__
