"""Old import path, kept so existing imports work.

The module is now :mod:`agentsim.worlds.structural`. Layer: causal.
"""

from agentsim.worlds.structural import *  # noqa: F403
from agentsim.worlds.structural import __all__ as __all__
