"""Shapley and Banzhaf values of a coalitional game, exact or estimated.

A *game* is a set of players ``N`` and a value function ``v`` that maps each coalition
``S ⊆ N`` to a number. In agentsim a player is a call, an agent or a tool of a run, and
``v(S)`` is the outcome when every player in ``S`` receives the game's intervention (is
repaired, broken, resampled, set to a baseline) while the others keep their factual behaviour.
Each ``v(S)`` is a world evaluation, which may mean re-running a simulation, so every solver
here memoises ``v`` by coalition and reports how many distinct coalitions it evaluated.

The *marginal contribution* of player ``i`` to a coalition ``S`` not containing it is
``v(S ∪ {i}) - v(S)``. The two classic values are averages of it:

* **Shapley** (1953) averages it over the order in which players join: for a uniformly random
  permutation of ``N``, take ``i``'s contribution to the players before it. Equivalently,
  ``φ_i = Σ_{S ⊆ N∖{i}} |S|! (n-|S|-1)! / n! · (v(S ∪ {i}) - v(S))``. It is the only value that
  is *efficient* (``Σ φ_i = v(N) - v(∅)``: the whole change is shared out), *symmetric*,
  gives 0 to *null* players and is *additive* over games.
* **Banzhaf** (1965) averages it uniformly over the ``2^(n-1)`` coalitions not containing ``i``.
  Symmetric, null and additive, but not efficient: the values need not add up to anything.

Solvers
-------
``exact``
    Enumerates all ``2^n`` coalitions once, in bitmask order (bit ``j`` set = player ``j`` in
    the coalition), then computes every player's value from that one table with numpy: for
    player ``i`` the table reshaped to ``(-1, 2, 2^i)`` puts each coalition without ``i`` next
    to the same coalition with ``i``. Cost: ``2^n`` evaluations, ``O(n 2^n)`` arithmetic.
``permutation`` (Shapley)
    Strumbelj & Kononenko (2014) sampling of random permutations, drawn in *antithetic* pairs:
    a permutation and its reverse (Mitchell et al. 2022). Within a pair, a player that joins
    early in one order joins late in the other, so the pair average has a much smaller
    variance than two independent draws. Estimates are means of the pair averages, with
    normal-approximation confidence intervals from their spread. Every permutation's
    contributions telescope to ``v(N) - v(∅)``, so the estimate is efficient by construction;
    ``efficiency_gap`` reports the (rounding-level) remainder and nothing is rescaled.
``sampling`` (Banzhaf)
    Maximum-sample-reuse estimation (Wang & Jia 2023): each evaluated coalition serves every
    player, since ``β_i = E[v(S) | i ∈ S] - E[v(S) | i ∉ S]`` for ``S`` uniform over all
    coalitions. Coalitions are drawn in complementary pairs ``(S, N∖S)``: each player lies in
    exactly one of the two, so ``±(v(S) - v(N∖S))`` is, pair by pair, an unbiased and
    independent draw for every player, which gives simple confidence intervals.

Pruning null players
--------------------
A caller that can *prove* some players null (``v(S ∪ {z}) = v(S)`` for every ``S``, e.g. a
call whose result nothing reads) passes them as ``null_players``. They get value exactly 0 and
are left out of the enumeration, which halves the work per null player. This is sound: a null
player's marginal contribution is always 0, and for any other player ``i`` the contribution
``v(P ∪ {i}) - v(P)`` to a set of predecessors ``P`` equals ``v(P' ∪ {i}) - v(P')`` with
``P' = P ∖ Z`` (remove the null players one by one). A uniform permutation of ``N`` restricted
to ``N ∖ Z`` is a uniform permutation of ``N ∖ Z``, and a uniform subset of ``N ∖ {i}``
restricted to ``N ∖ Z`` is a uniform subset of ``N ∖ Z ∖ {i}``, so both the Shapley and the
Banzhaf value of ``i`` are unchanged in the game restricted to ``N ∖ Z``. ``v(N)`` is then
reported as ``v(N ∖ Z)``, equal by the same argument.

This is agentsim's own implementation: DoWhy's ``gcm`` Shapley code is general but slow (a
Python loop over subsets with per-subset model work), too slow for 20 players.

References
----------
Shapley, L. S. (1953). A value for n-person games. *Contributions to the Theory of Games II*.
Banzhaf, J. F. (1965). Weighted voting doesn't work. *Rutgers Law Review* 19.
Strumbelj, E. & Kononenko, I. (2014). Explaining prediction models and individual predictions
with feature contributions. *Knowledge and Information Systems* 41.
Mitchell, R., Cooper, J., Frank, E. & Holmes, G. (2022). Sampling permutations for Shapley
value estimation. *JMLR* 23.
Wang, J. T. & Jia, R. (2023). Data Banzhaf: a robust data valuation framework for machine
learning. *AISTATS*.

Examples
--------
The glove game: one right glove, two left ones; a coalition is worth its number of pairs.

>>> def gloves(s):
...     return min(len(s & {"L1", "L2"}), len(s & {"R"}))
>>> a = shapley_values(["L1", "L2", "R"], gloves)
>>> {p: round(x, 4) for p, x in a.values.items()}
{'L1': 0.1667, 'L2': 0.1667, 'R': 0.6667}
>>> a.evaluations, a.exact
(8, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from agentsim.attribution.result import Attribution
from agentsim.errors import AttributionError, suggest

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_PAIRS",
    "MAX_EXACT_PLAYERS",
    "banzhaf_values",
    "shapley_values",
]

DEFAULT_BUDGET = 2**12
"""Evaluations allowed when ``budget=None`` (except for an explicit ``method="exact"``).

4096 evaluations make ``auto`` exact up to 12 players, which costs seconds even when each
evaluation is a short simulation; beyond that, sampling gives usable intervals at that cost."""

MAX_EXACT_PLAYERS = 24
"""Largest number of (non-null) players enumerated exactly: 2^24 coalitions, 128 MiB of values."""

DEFAULT_MAX_PAIRS = 10_000
"""Most antithetic pairs a sampler draws, even when the budget is not exhausted (it can stop
costing evaluations once every coalition it meets is memoised)."""

ValueFunction = Callable[[frozenset[str]], float]
ShapleyMethod = Literal["auto", "exact", "permutation"]
BanzhafMethod = Literal["auto", "exact", "sampling"]


class _Game:
    """The value function over bitmask coalitions, memoised, with its evaluation count."""

    def __init__(self, players: tuple[str, ...], value: ValueFunction) -> None:
        self.players = players
        self.n = len(players)
        self._value = value
        self.cache: dict[int, float] = {}
        self.evaluations = 0
        # Coalitions are built from tables of name tuples, one per chunk of bits, so turning
        # a mask into a frozenset costs a few lookups rather than a loop over all players.
        self._bits = max(1, math.ceil(self.n / 2)) if self.n <= 2 * 12 else 8
        self._chunk_mask = (1 << self._bits) - 1
        self._tables: list[list[tuple[str, ...]]] = []
        for start in range(0, max(self.n, 1), self._bits):
            names = players[start : start + self._bits]
            table: list[tuple[str, ...]] = [()]
            for name in names:  # doubling: entries with this bit set follow those without
                table = table + [(*t, name) for t in table]
            self._tables.append(table)

    def coalition(self, mask: int) -> frozenset[str]:
        members: list[str] = []
        for table in self._tables:
            members.extend(table[mask & self._chunk_mask])
            mask >>= self._bits
        return frozenset(members)

    def __call__(self, mask: int) -> float:
        cached = self.cache.get(mask)
        if cached is None:
            coalition = self.coalition(mask)
            cached = _finite(self._value(coalition), coalition)
            self.cache[mask] = cached
            self.evaluations += 1
        return cached

    def table(self) -> NDArray[np.float64]:
        """Every coalition's value, indexed by bitmask (each coalition evaluated once).

        The values are not memoised one by one: the table itself is the memo.
        """
        size = 1 << self.n
        whole = getattr(self._value, "table", None)
        if whole is not None:  # a value function that walks all coalitions its own way
            out = np.asarray(whole(self.players), dtype=np.float64)
            if out.shape != (size,):
                raise AttributionError(
                    f"the value function's table has shape {out.shape}; expected ({size},), "
                    f"one value per coalition of {self.n} players"
                )
        else:
            if len(self._tables) == 1:
                coalitions = (frozenset(low) for low in self._tables[0])
            else:
                lows, highs = self._tables[0], self._tables[1]
                coalitions = (frozenset(low + high) for high in highs for low in lows)
            value = self._value
            out = np.fromiter((value(c) for c in coalitions), dtype=np.float64, count=size)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            mask = int(bad[0])
            _finite(float(out[mask]), self.coalition(mask))
        self.evaluations += size
        return out


def _finite(x: float, coalition: frozenset[str]) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise AttributionError(
            f"the value function returned {x!r} for coalition {sorted(coalition)}; values "
            "must be finite numbers (check the outcome the game measures)"
        )
    return x


def _prepare(
    players: Sequence[str],
    null_players: Collection[str],
    budget: int | None,
    seed: int,
    confidence: float,
    max_pairs: int,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validate arguments; return (all players, players left after pruning null ones)."""
    if isinstance(players, str):
        raise AttributionError(
            f"players must be a sequence of names, got the string {players!r}; "
            f"pass [{players!r}] for a single player"
        )
    names = tuple(players)
    seen: set[str] = set()
    for p in names:
        if not isinstance(p, str):
            raise AttributionError(f"player {p!r} is not a string; players are named by str")
        if p in seen:
            raise AttributionError(f"player {p!r} appears twice; players must be distinct")
        seen.add(p)
    for z in null_players:
        if z not in seen:
            raise AttributionError(
                f"null player {z!r} is not among the {len(names)} players{suggest(z, names)}"
            )
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
    ):
        raise AttributionError(
            f"budget {budget!r} is not a positive integer number of evaluations; pass e.g. "
            f"budget={DEFAULT_BUDGET} or None for the default"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise AttributionError(f"seed {seed!r} is not a non-negative integer")
    if not 0.0 < confidence < 1.0:
        raise AttributionError(f"confidence {confidence!r} must lie strictly between 0 and 1")
    if max_pairs < 1:
        raise AttributionError(f"max_pairs {max_pairs!r} must be at least 1")
    null = set(null_players)
    return names, tuple(p for p in names if p not in null)


def _choose(method: str, allowed: tuple[str, ...], n: int, budget: int | None) -> str:
    if method not in allowed:
        raise AttributionError(
            f"unknown method {method!r}{suggest(method, allowed)}; choose one of {list(allowed)}"
        )
    if method == "exact":
        if n > MAX_EXACT_PLAYERS:
            raise AttributionError(
                f"exact enumeration of {n} players needs 2^{n} evaluations; the limit is "
                f"{MAX_EXACT_PLAYERS} players: declare null players, or use method={allowed[2]!r}"
            )
        if budget is not None and (1 << n) > budget:
            raise AttributionError(
                f"exact enumeration of {n} players needs 2^{n} = {1 << n} evaluations, more "
                f"than budget={budget}; raise the budget or use method={allowed[2]!r}"
            )
        return "exact"
    if method == "auto":
        limit = DEFAULT_BUDGET if budget is None else budget
        return "exact" if n <= MAX_EXACT_PLAYERS and (1 << n) <= limit else allowed[2]
    return method


def _interval(
    draws: NDArray[np.float64], z: float
) -> tuple[NDArray[np.float64], list[tuple[float, float]]]:
    """Column means of ``draws`` (one row per independent draw) and normal intervals."""
    mean = draws.mean(axis=0)
    k = draws.shape[0]
    if k < 2:
        return mean, [(-math.inf, math.inf)] * draws.shape[1]
    half = z * draws.std(axis=0, ddof=1) / math.sqrt(k)
    return mean, [(float(m - h), float(m + h)) for m, h in zip(mean, half, strict=True)]


@dataclass(frozen=True)
class _Spec:
    """What a result needs besides the numbers: who plays, and the labels."""

    names: tuple[str, ...]
    active: tuple[str, ...]
    efficient: bool
    game: str
    outcome: str
    confidence: float


def _build(
    spec: _Spec,
    game: _Game,
    *,
    estimates: Sequence[float],
    intervals: Sequence[tuple[float, float]] | None,
    v_empty: float,
    v_full: float,
    method: str,
    notes: list[str],
) -> Attribution:
    names, active, confidence = spec.names, spec.active, spec.confidence
    by_player = dict(zip(active, estimates, strict=True))
    ci_by_player = dict(zip(active, intervals, strict=True)) if intervals is not None else {}
    values = {p: float(by_player.get(p, 0.0)) for p in names}
    ci = {p: ci_by_player.get(p) for p in names}
    pruned = len(names) - len(active)
    if pruned:
        notes = [
            f"{pruned} player(s) declared null: value 0 exactly, left out of the enumeration; "
            "v_full is v(N without them), equal to v(N) by the declaration",
            *notes,
        ]
    gap = math.fsum(values.values()) - (v_full - v_empty) if spec.efficient else None
    return Attribution(
        values=values,
        ci=ci,
        game=spec.game,
        method=method,
        outcome=spec.outcome,
        evaluations=game.evaluations,
        efficiency_gap=gap,
        v_empty=v_empty,
        v_full=v_full,
        exact=intervals is None,
        confidence=None if intervals is None else confidence,
        notes=notes,
    )


def _shapley_exact(table: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Shapley values from the table of all coalition values (indexed by bitmask)."""
    size = 1 << n
    sizes = np.zeros(size, dtype=np.int64)
    masks = np.arange(size, dtype=np.int64)
    for j in range(n):
        sizes += (masks >> j) & 1
    # weight of a coalition S of size s not containing i: s! (n-s-1)! / n! = 1 / (n C(n-1, s))
    weights = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    phi = np.empty(n)
    for i in range(n):
        pairs = table.reshape(-1, 2, 1 << i)
        marginal = pairs[:, 1, :] - pairs[:, 0, :]
        w = weights[sizes.reshape(-1, 2, 1 << i)[:, 0, :]]
        phi[i] = float(np.sum(w * marginal))
    return phi


def _banzhaf_exact(table: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    phi = np.empty(n)
    for i in range(n):
        pairs = table.reshape(-1, 2, 1 << i)
        phi[i] = float(np.mean(pairs[:, 1, :] - pairs[:, 0, :]))
    return phi


def shapley_values(
    players: Sequence[str],
    value: ValueFunction,
    *,
    method: ShapleyMethod = "auto",
    budget: int | None = None,
    seed: int = 0,
    null_players: Collection[str] = (),
    confidence: float = 0.95,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    game: str = "custom",
    outcome: str = "value",
) -> Attribution:
    """Shapley values of the game ``(players, value)``, exact or by permutation sampling.

    Parameters
    ----------
    players : Sequence[str]
        Distinct player names; the result lists them in this order.
    value : Callable[[frozenset[str]], float]
        ``v(S)``. Called at most once per coalition (memoised); never given a null player.
        An exact solve asks ``value.table(players)`` instead, when the value function has
        that method: every coalition's value at once, indexed by bitmask (the repair game on
        a simulated run walks its worlds this way).
    method : {"auto", "exact", "permutation"}
        ``exact`` enumerates all ``2^n`` coalitions; ``permutation`` samples antithetic
        pairs of permutations; ``auto`` is exact when ``2^n`` fits the budget (and
        ``n <= MAX_EXACT_PLAYERS``), permutation otherwise. ``n`` counts non-null players.
    budget : int, optional
        Most distinct evaluations of ``value``. ``None``: :data:`DEFAULT_BUDGET` for ``auto``
        and ``permutation``, unlimited for ``exact``. Sampling stops before a pair of
        permutations would exceed it.
    seed : int
        Seed of the local random generator used by sampling; same seed, same result.
    null_players : Collection[str]
        Players the caller has proved null; they get 0 and are not enumerated (see the module
        docstring for why this leaves the other values unchanged).
    confidence : float
        Nominal coverage of the sampling intervals.
    max_pairs : int
        Most antithetic pairs to draw.
    game, outcome : str
        Labels copied into the result.

    Returns
    -------
    Attribution
        ``ci`` is ``None`` for exact values; with a single pair the intervals are infinite.

    Raises
    ------
    AttributionError
        Bad players, method or budget; a budget below the ``2n`` evaluations one antithetic
        pair needs; a value function returning a non-finite number.

    References
    ----------
    Shapley (1953); Strumbelj & Kononenko (2014); Mitchell et al. (2022).

    Examples
    --------
    A unanimity game: the outcome needs both ``a`` and ``b``; ``c`` is irrelevant.

    >>> def both(s):
    ...     return float({"a", "b"} <= s)
    >>> exact = shapley_values(["a", "b", "c"], both)
    >>> exact.values, exact.efficiency_gap
    ({'a': 0.5, 'b': 0.5, 'c': 0.0}, 0.0)
    >>> pruned = shapley_values(["a", "b", "c"], both, null_players={"c"})
    >>> pruned.values == exact.values, pruned.evaluations
    (True, 4)
    >>> sampled = shapley_values(["a", "b", "c"], both, method="permutation", budget=6)
    >>> sampled.exact, sampled.evaluations <= 6
    (False, True)
    """
    names, active = _prepare(players, null_players, budget, seed, confidence, max_pairs)
    n = len(active)
    chosen = _choose(method, ("auto", "exact", "permutation"), n, budget)
    g = _Game(active, value)
    full = (1 << n) - 1
    spec = _Spec(names, active, True, game, outcome, confidence)
    if n == 0 or chosen == "exact":
        table = g.table()
        phi = _shapley_exact(table, n) if n else np.empty(0)
        return _build(
            spec,
            g,
            estimates=phi.tolist(),
            intervals=None,
            v_empty=float(table[0]),
            v_full=float(table[full]),
            method="shapley/exact",
            notes=[],
        )

    limit = DEFAULT_BUDGET if budget is None else budget
    if limit < 2 * n:
        raise AttributionError(
            f"budget={limit} cannot afford one antithetic pair of permutations, which needs "
            f"2n = {2 * n} evaluations for n = {n} players; raise the budget to at least "
            f"{2 * n}, declare null players, or use method='exact' for small games"
        )
    rng = np.random.default_rng(seed)
    bits = [1 << j for j in range(n)]
    draws: list[NDArray[np.float64]] = []
    stop = f"max_pairs={max_pairs} reached"
    while len(draws) < max_pairs:
        order = rng.permutation(n).tolist()
        walks = (order, order[::-1])
        prefixes = [[0] * (n + 1), [0] * (n + 1)]
        for walk, prefix in zip(walks, prefixes, strict=True):
            for k, j in enumerate(walk):
                prefix[k + 1] = prefix[k] | bits[j]
        new = {m for prefix in prefixes for m in prefix if m not in g.cache}
        if g.evaluations + len(new) > limit:
            stop = f"budget={limit} reached"
            break
        pair = np.zeros(n)
        for walk, prefix in zip(walks, prefixes, strict=True):
            before = g(0)
            for k, j in enumerate(walk):
                after = g(prefix[k + 1])
                pair[j] += after - before
                before = after
        draws.append(pair / 2.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    mean, intervals = _interval(np.array(draws), z)
    notes = [
        f"{len(draws)} antithetic pairs of permutations ({2 * len(draws)} permutations); "
        f"stopped: {stop}",
        "efficient by construction: each permutation's contributions sum to v(N) - v(∅); "
        "no adjustment applied",
    ]
    if len(draws) < 2:
        notes.append("a single pair gives no variance estimate: intervals are infinite")
    return _build(
        spec,
        g,
        estimates=mean.tolist(),
        intervals=intervals,
        v_empty=g(0),
        v_full=g(full),
        method="shapley/permutation",
        notes=notes,
    )


def banzhaf_values(
    players: Sequence[str],
    value: ValueFunction,
    *,
    method: BanzhafMethod = "auto",
    budget: int | None = None,
    seed: int = 0,
    null_players: Collection[str] = (),
    confidence: float = 0.95,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    game: str = "custom",
    outcome: str = "value",
) -> Attribution:
    """Banzhaf values of the game ``(players, value)``, exact or by sampling coalitions.

    ``β_i`` is ``i``'s marginal contribution averaged uniformly over the ``2^(n-1)``
    coalitions without ``i``. Not efficient, so ``efficiency_gap`` is ``None``.

    Parameters
    ----------
    players, value, budget, seed, null_players, confidence, game, outcome
        As for :func:`shapley_values`.
    method : {"auto", "exact", "sampling"}
        ``exact`` enumerates all coalitions; ``sampling`` is maximum-sample-reuse over
        complementary pairs of uniform coalitions; ``auto`` is exact when ``2^n`` fits the
        budget.
    max_pairs : int
        Most complementary pairs of coalitions to draw.

    Returns
    -------
    Attribution

    Raises
    ------
    AttributionError
        Bad arguments, or a budget too small for ``v(∅)``, ``v(N)`` and one pair.

    References
    ----------
    Banzhaf (1965); Wang & Jia (2023).

    Examples
    --------
    >>> def both(s):
    ...     return float({"a", "b"} <= s)
    >>> banzhaf_values(["a", "b", "c"], both).values
    {'a': 0.5, 'b': 0.5, 'c': 0.0}
    """
    names, active = _prepare(players, null_players, budget, seed, confidence, max_pairs)
    n = len(active)
    chosen = _choose(method, ("auto", "exact", "sampling"), n, budget)
    g = _Game(active, value)
    full = (1 << n) - 1
    spec = _Spec(names, active, False, game, outcome, confidence)
    if n == 0 or chosen == "exact":
        table = g.table()
        return _build(
            spec,
            g,
            estimates=_banzhaf_exact(table, n).tolist(),
            intervals=None,
            v_empty=float(table[0]),
            v_full=float(table[full]),
            method="banzhaf/exact",
            notes=[],
        )

    limit = DEFAULT_BUDGET if budget is None else budget
    needed = min(4, 1 << n)
    if limit < needed:
        raise AttributionError(
            f"budget={limit} cannot afford v(∅), v(N) and one complementary pair of "
            f"coalitions ({needed} evaluations); raise the budget to at least {needed}"
        )
    v_empty, v_full = g(0), g(full)
    rng = np.random.default_rng(seed)
    draws: list[NDArray[np.float64]] = []
    stop = f"max_pairs={max_pairs} reached"
    while len(draws) < max_pairs:
        inside = rng.integers(0, 2, size=n).astype(bool)
        mask = sum(1 << int(j) for j in np.flatnonzero(inside))
        new = {m for m in (mask, full ^ mask) if m not in g.cache}
        if g.evaluations + len(new) > limit:
            stop = f"budget={limit} reached"
            break
        diff = g(mask) - g(full ^ mask)
        draws.append(np.where(inside, diff, -diff))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    mean, intervals = _interval(np.array(draws), z)
    notes = [f"{len(draws)} complementary pairs of uniform coalitions; stopped: {stop}"]
    if len(draws) < 2:
        notes.append("a single pair gives no variance estimate: intervals are infinite")
    return _build(
        spec,
        g,
        estimates=mean.tolist(),
        intervals=intervals,
        v_empty=v_empty,
        v_full=v_full,
        method="banzhaf/sampling",
        notes=notes,
    )
