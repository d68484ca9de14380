"""Old import path, kept so existing imports work.

The module is now :mod:`agentsim.worlds.trace`. Layer: causal.
"""

from agentsim.worlds.trace import *  # noqa: F403
from agentsim.worlds.trace import __all__ as __all__
