"""The exception tree of agentsim.

Layer: kernel. It imports nothing of the package above the kernel.

Every error a user can cause is an :class:`AgentSimError`. Its leaves say which kind of input
was wrong, and every message names the bad value, the rule it broke and how to fix it. The
command line prints such an error on one line and exits with status 2.

Examples
--------
>>> from agentsim.errors import AgentSimError, ScenarioError
>>> issubclass(ScenarioError, AgentSimError)
True
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AgentSimError",
    "AttributionError",
    "InterventionError",
    "ScenarioError",
    "ScenarioWarning",
    "SimulationError",
    "TraceFormatError",
    "UnanswerableError",
    "UnknownAddressError",
    "suggest",
]


class AgentSimError(Exception):
    """Root of every error agentsim raises on bad input."""


class ScenarioError(AgentSimError, ValueError):
    """A scenario, tool, model, agent or distribution was defined with an invalid value."""


class SimulationError(AgentSimError, RuntimeError):
    """A simulation could not be carried out (for example, a worker process failed)."""


class TraceFormatError(AgentSimError, ValueError):
    """A trace file is malformed or in a format agentsim does not read."""


class UnknownAddressError(AgentSimError, KeyError):
    """An address, tool or agent name matched nothing in the run."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InterventionError(AgentSimError, ValueError):
    """An intervention is malformed or cannot apply to its target."""


class AttributionError(AgentSimError, ValueError):
    """An attribution question is malformed (bad players, game, outcome or budget)."""


class UnanswerableError(AgentSimError):
    """The model at hand does not determine the answer to this question.

    Raised, for example, when a trace imported from a real agent is asked what a different LLM
    reply would have led to: the trace records what happened, not the agent's program.
    """


class ScenarioWarning(UserWarning):
    """Scenario code did something that is almost surely a bug (it raised an exception that
    is not a modelled failure, or created a call request it never yielded): issued once per
    batch, with the details on each run."""


def suggest(word: str, choices: Iterable[str], n: int = 3) -> str:
    """Return a ``"; did you mean ...?"`` hint, or ``""`` when nothing is close.

    >>> suggest("serch", ["search", "plan"])
    "; did you mean 'search'?"
    """
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
