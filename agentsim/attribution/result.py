"""The result of an attribution: how much of an outcome each player accounts for.

Every attribution method (Shapley, Banzhaf, but-for, ...) answers with an :class:`Attribution`:
one value per *player* (a call, an agent, a tool), computed on a *game* (``repair``, ``break``,
``resample``, ``baseline``) for one *outcome* (``success``, ``latency``, ``cost``...), together
with what it cost (``evaluations``: how many times the world was asked an interventional
question) and how sure it is (``ci``: a confidence interval per player, or ``None`` when the
value is exact).

For efficient solvers (Shapley) the values add up to what there is to explain,
``v(N) - v(∅)``; ``efficiency_gap`` reports how far the sum is from it, so that an estimator's
error is never hidden by a silent rescaling. Solvers for which efficiency is not a property
(Banzhaf, but-for) leave it ``None``.

An :class:`Attribution` is an immutable pydantic model, so it serialises to JSON and back
exactly.

Examples
--------
>>> a = Attribution(
...     values={"plan": 0.25, "search": 0.75},
...     ci={"plan": None, "search": None},
...     game="repair", method="shapley/exact", outcome="success", evaluations=4,
...     efficiency_gap=0.0, v_empty=0.0, v_full=1.0, exact=True,
... )
>>> a.top(1)
[('search', 0.75)]
>>> Attribution.from_json(a.to_json()) == a
True
>>> a.aggregate({"plan": "planner", "search": "worker"}).values
{'planner': 0.25, 'worker': 0.75}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from agentsim._display import html_of
from agentsim._optional import require
from agentsim.errors import AttributionError, suggest

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

__all__ = ["Attribution"]


class Attribution(BaseModel):
    """Values of the players of a game, with their uncertainty and cost.

    Immutable. ``values`` and ``ci`` share their keys, in the order of the players.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    values: dict[str, float]
    """Player -> value, in the order of the players."""

    ci: dict[str, tuple[float, float] | None]
    """Player -> (low, high) confidence interval, or ``None`` when the value is exact."""

    game: str
    """The game played: ``repair``, ``break``, ``resample``, ``baseline`` or a custom label."""

    method: str
    """The solver, e.g. ``shapley/exact``, ``shapley/permutation``, ``banzhaf/sampling``."""

    outcome: str = "success"
    """The outcome explained."""

    evaluations: int
    """Number of distinct world evaluations (value-function calls) the solver made."""

    efficiency_gap: float | None = None
    """``sum(values) - (v_full - v_empty)``; ``None`` where efficiency does not apply."""

    v_empty: float
    """``v(∅)``: the outcome when no player receives the game's intervention."""

    v_full: float
    """``v(N)``: the outcome when every player receives it."""

    exact: bool
    """Whether the values are exact (no estimator error)."""

    confidence: float | None = None
    """Nominal coverage of the intervals in ``ci``; ``None`` when exact."""

    notes: list[str] = []
    """Caveats a reader should know (pruned players, budget reached, how CIs were combined)."""

    @model_validator(mode="after")
    def _same_players(self) -> Attribution:
        if list(self.values) != list(self.ci):
            raise AttributionError(
                f"values and ci must name the same players in the same order; got "
                f"{list(self.values)} and {list(self.ci)}"
            )
        return self

    @property
    def players(self) -> list[str]:
        """The players, in order."""
        return list(self.values)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` players with the largest absolute value (ties broken by name).

        >>> a = Attribution(values={"b": -2.0, "a": 2.0, "c": 1.0}, ci=dict.fromkeys("bac"),
        ...                 game="g", method="m", evaluations=0, v_empty=0.0, v_full=1.0,
        ...                 exact=True)
        >>> a.top(2)
        [('a', 2.0), ('b', -2.0)]
        """
        if k < 0:
            raise AttributionError(f"top(k={k}): k must be a non-negative integer")
        ranked = sorted(self.values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return ranked[:k]

    def to_json(self) -> str:
        """Serialise to a JSON string (infinite interval ends are written as ``Infinity``)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Attribution:
        """Read an :class:`Attribution` written by :meth:`to_json`."""
        return cls.model_validate_json(text)

    def to_pandas(self) -> pd.DataFrame:
        """A data frame with columns ``player``, ``value``, ``ci_low``, ``ci_high``.

        Exact values have ``NaN`` interval ends. Needs pandas, imported here only.
        """
        pandas = require("pandas", "Attribution.to_pandas")

        rows = []
        for player, value in self.values.items():
            interval = self.ci[player]
            low, high = interval if interval is not None else (math.nan, math.nan)
            rows.append({"player": player, "value": value, "ci_low": low, "ci_high": high})
        frame: pd.DataFrame = pandas.DataFrame(
            rows, columns=["player", "value", "ci_low", "ci_high"]
        )
        return frame

    def aggregate(self, mapping: Mapping[str, str]) -> Attribution:
        """Sum the values of players per group, e.g. call-level to agent-level.

        Each group's value is the sum of its members' values. Each group's interval is the
        group's value minus, and plus, the *sum* of its members' lower and upper half-widths
        (exact members contribute 0). This is conservative: a standard deviation of a sum is
        at most the sum of the standard deviations, whatever the correlation between the
        members' estimates, so a normal-approximation interval keeps at least its nominal
        coverage. The efficiency gap is unchanged, since the total is unchanged.

        Summed Shapley values are the values of the *groups* under the original game, not the
        Shapley values of a game whose players are the groups; the two differ in general.

        Parameters
        ----------
        mapping : Mapping[str, str]
            Player -> group. Every player must be mapped. Groups keep the order in which
            they first appear among the players.

        Returns
        -------
        Attribution
            One value per group; a note records the aggregation.

        Examples
        --------
        >>> a = Attribution(values={"x#0": 1.0, "x#1": 2.0, "y#0": 0.5},
        ...                 ci={"x#0": (0.5, 1.5), "x#1": (1.0, 3.0), "y#0": None},
        ...                 game="g", method="m", evaluations=8, v_empty=0.0, v_full=3.5,
        ...                 exact=False)
        >>> g = a.aggregate({"x#0": "x", "x#1": "x", "y#0": "y"})
        >>> g.values, g.ci
        ({'x': 3.0, 'y': 0.5}, {'x': (1.5, 4.5), 'y': None})
        """
        missing = [p for p in self.values if p not in mapping]
        if missing:
            raise AttributionError(
                f"aggregate: player {missing[0]!r} has no group ({len(missing)} of "
                f"{len(self.values)} players unmapped); map every player to a group"
            )
        extra = [p for p in mapping if p not in self.values]
        if extra:
            raise AttributionError(
                f"aggregate: {extra[0]!r} is not a player of this attribution"
                f"{suggest(extra[0], self.values)}"
            )
        groups: dict[str, list[str]] = {}
        for player in self.values:
            groups.setdefault(mapping[player], []).append(player)
        values: dict[str, float] = {}
        ci: dict[str, tuple[float, float] | None] = {}
        for group, members in groups.items():
            total = math.fsum(self.values[p] for p in members)
            values[group] = total
            intervals = [(p, self.ci[p]) for p in members]
            if all(iv is None for _, iv in intervals):
                ci[group] = None
                continue
            below = math.fsum(self.values[p] - iv[0] for p, iv in intervals if iv is not None)
            above = math.fsum(iv[1] - self.values[p] for p, iv in intervals if iv is not None)
            ci[group] = (total - below, total + above)
        note = (
            f"aggregated {len(self.values)} players into {len(values)} groups by summing "
            "values; intervals combined conservatively by summing half-widths"
        )
        return self.model_copy(update={"values": values, "ci": ci, "notes": [*self.notes, note]})

    def _describe(self) -> str:
        parts = [
            f"{self.method} on game {self.game!r}, outcome {self.outcome!r}",
            f"{self.evaluations} evaluation{'' if self.evaluations == 1 else 's'}",
            f"v(∅)={self.v_empty:.4g}, v(N)={self.v_full:.4g}",
        ]
        if self.efficiency_gap is not None:
            parts.append(f"efficiency gap {self.efficiency_gap:.3g}")
        if not self.exact and self.confidence is not None:
            parts.append(f"{self.confidence:.0%} intervals")
        return "; ".join(parts)

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def __str__(self) -> str:
        width = max([len(p) for p in self.values] + [6])
        lines = [f"Attribution ({self._describe()})"]
        for player, value in self.values.items():
            interval = self.ci[player]
            suffix = "" if interval is None else f"  [{interval[0]:+.4f}, {interval[1]:+.4f}]"
            lines.append(f"  {player:<{width}}  {value:+.4f}{suffix}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __rich__(self) -> Table:
        """A rich table of the players, largest absolute value first."""
        from rich.table import Table
        from rich.text import Text

        # Text cells: player names and intervals hold brackets that are not rich markup.
        table = Table(
            title=Text(f"Attribution of {self.outcome!r}"), caption=Text(self._describe())
        )
        table.add_column("player")
        table.add_column("value", justify="right")
        if not self.exact:
            table.add_column("interval", justify="right")
        for player, value in self.top(len(self.values)):
            cells: list[Any] = [Text(player), Text(f"{value:+.4f}")]
            if not self.exact:
                interval = self.ci[player]
                cells.append(
                    Text(
                        "exact" if interval is None else f"[{interval[0]:+.4f}, {interval[1]:+.4f}]"
                    )
                )
            table.add_row(*cells)
        return table
