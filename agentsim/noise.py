"""The addressed noise field: the exogenous variables of every agentsim SCM.

Layer: kernel. It imports nothing of the package above the kernel.

A scenario is a probabilistic program, and every random choice it makes is a uniform number
drawn from a *field* indexed by ``(seed, address, slot, draw)``::

    u = field(seed, "support#0/lookup_order#0", "ok")        # in (0, 1)

The field is a pure function: the same key gives the same number in every process, on every
machine, whatever ``PYTHONHASHSEED`` is. Counterfactuals rest on this. Re-running a program
under an intervention feeds every address that the factual run reached the very same noise
(abduction is exact for a simulated run), and an address that exists only in the
counterfactual world (an extra retry) draws from the same field, so its value is
interventional rather than counterfactual. ``draw=k`` gives the k-th *fresh* draw at a key,
used by ``resample`` and by Monte Carlo games, reproducible in any process.

How it is computed. Address and slot strings are hashed with BLAKE2b to 64-bit keys (Python's
``hash()`` changes between processes). The key words are combined through the SplitMix64
finaliser, a bijective 64-bit mixer with full avalanche, one round per key word, and the top 53
bits of the result become a float strictly inside (0, 1). A counter-based generator such as
numpy's Philox would do as well statistically, but constructing one per draw costs about 20
microseconds in Python, more than a whole simulated call; the mixer costs about half a
microsecond and vectorises over numpy ``uint64`` arrays with bit-identical results
(:func:`uniform_many`), which a vectorised executor uses to draw one address for many seeds at once.

Examples
--------
>>> u = uniform(7, "support#0/lookup_order#0", "ok")
>>> 0.0 < u < 1.0
True
>>> u == uniform(7, "support#0/lookup_order#0", "ok")
True
>>> u == uniform(8, "support#0/lookup_order#0", "ok")
False
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from agentsim.errors import ScenarioError

__all__ = [
    "MAX_SEED",
    "Noise",
    "child_seed",
    "child_seeds",
    "key_hash",
    "seed_keys",
    "uniform",
    "uniform_keys",
    "uniform_many",
]

MAX_SEED = 2**64 - 1
_M64 = 0xFFFFFFFFFFFFFFFF
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_TO_UNIT = 2.0**-53


def _mix(z: int) -> int:
    """SplitMix64 finaliser: a bijection of 64-bit words with full avalanche."""
    z = ((z ^ (z >> 30)) * _C1) & _M64
    z = ((z ^ (z >> 27)) * _C2) & _M64
    return z ^ (z >> 31)


@lru_cache(maxsize=1 << 16)
def key_hash(text: str) -> int:
    """Stable 64-bit hash of an address or slot name (BLAKE2b, identical in every process).

    >>> key_hash("search#0") == key_hash("search#0")
    True
    """
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


@lru_cache(maxsize=1 << 16)
def _site_key(address: str, slot: str) -> int:
    return _mix(_mix(key_hash(address) ^ _GOLDEN) ^ key_hash(slot))


@lru_cache(maxsize=1 << 16)
def call_sites(address: str) -> tuple[int, int]:
    """The site keys of a call's ``ok`` and ``latency`` slots (one cache look-up for both)."""
    return _site_key(address, "ok"), _site_key(address, "latency")


@lru_cache(maxsize=1 << 12)
def _seed_key(seed: int) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ScenarioError(
            f"seed {seed!r} is not an integer in [0, 2**64); pass a non-negative integer seed"
        )
    return _mix((seed + _GOLDEN) & _M64)


def _finish(seed_key: int, site_key: int, draw: int) -> float:
    # _mix inlined: this runs for every uniform of every simulated call.
    z = seed_key ^ site_key
    z = ((z ^ (z >> 30)) * _C1) & _M64
    z = ((z ^ (z >> 27)) * _C2) & _M64
    h = z ^ (z >> 31)
    if draw:
        h = _mix((h + draw * _GOLDEN) & _M64)
    return ((h >> 11) + 0.5) * _TO_UNIT


def uniform(seed: int, address: str, slot: str, draw: int = 0) -> float:
    """The noise value ``U(seed, address, slot, draw)``, a float strictly inside (0, 1).

    Parameters
    ----------
    seed : int
        The run's seed, in ``[0, 2**64)``.
    address : str
        The call's address, e.g. ``"support#0/planner#1"``.
    slot : str
        Which of the call's random inputs: ``"ok"``, ``"latency"``, ``"choice:refund"``...
    draw : int
        0 for the factual noise; k > 0 for the k-th fresh draw (``resample``).

    >>> uniform(0, "a#0", "ok") != uniform(0, "a#0", "latency")
    True
    """
    return _finish(_seed_key(seed), _site_key(address, slot), draw)


def _mix_array(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
    return z ^ (z >> np.uint64(31))


def uniform_many(
    seeds: NDArray[np.integer] | list[int], address: str, slot: str, draw: int = 0
) -> NDArray[np.float64]:
    """:func:`uniform` for a whole vector of seeds at one address, in one numpy pass.

    The result is bit-identical to calling :func:`uniform` seed by seed.

    >>> import numpy as np
    >>> v = uniform_many(np.arange(3), "a#0", "ok")
    >>> [float(x) for x in v] == [uniform(s, "a#0", "ok") for s in range(3)]
    True
    """
    s = np.asarray(seeds)
    if s.size and (s.dtype.kind not in "iu" or (s.dtype.kind == "i" and s.min() < 0)):
        raise ScenarioError(f"seeds must be non-negative integers, got dtype {s.dtype}")
    with np.errstate(over="ignore"):
        z = s.astype(np.uint64) + np.uint64(_GOLDEN)
        h = _mix_array(_mix_array(z) ^ np.uint64(_site_key(address, slot)))
        if draw:
            h = _mix_array(h + np.uint64((draw * _GOLDEN) & _M64))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _TO_UNIT


def seed_keys(seeds: NDArray[np.integer] | list[int]) -> NDArray[np.uint64]:
    """The mixed seed words of many seeds, for :func:`uniform_keys` (one mix per seed, once).

    >>> k = seed_keys([0, 1])
    >>> float(uniform_keys(k, "a#0", "ok")[1]) == uniform(1, "a#0", "ok")
    True
    """
    s = np.asarray(seeds)
    if s.size and (s.dtype.kind not in "iu" or (s.dtype.kind == "i" and s.min() < 0)):
        raise ScenarioError(f"seeds must be non-negative integers, got dtype {s.dtype}")
    with np.errstate(over="ignore"):
        return _mix_array(s.astype(np.uint64) + np.uint64(_GOLDEN))


def uniform_keys(
    keys: NDArray[np.uint64], address: str, slot: str, draw: int = 0
) -> NDArray[np.float64]:
    """:func:`uniform` at one address for many runs given their :func:`seed_keys`.

    Bit-identical to the scalar path (the vectorised executor draws with it).
    """
    with np.errstate(over="ignore"):
        h = _mix_array(keys ^ np.uint64(_site_key(address, slot)))
        if draw:
            h = _mix_array(h + np.uint64((draw * _GOLDEN) & _M64))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _TO_UNIT


def child_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th run of a batch simulated with ``seed`` (63-bit).

    Independent of the batch size, so run 3 of ``simulate(n=10, seed=0)`` and of
    ``simulate(n=1000, seed=0)`` are the same run.

    >>> child_seed(0, 3) == child_seed(0, 3) != child_seed(0, 4)
    True
    """
    return _mix(_seed_key(seed) ^ _mix((index + 1) * _GOLDEN & _M64)) >> 1


def child_seeds(seed: int, n: int) -> NDArray[np.uint64]:
    """:func:`child_seed` of runs ``0 .. n-1``, in one numpy pass (bit-identical).

    >>> [int(s) for s in child_seeds(5, 3)] == [child_seed(5, i) for i in range(3)]
    True
    """
    k = np.uint64(_seed_key(seed))
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
        return _mix_array(k ^ _mix_array(i)) >> np.uint64(1)


class Noise:
    """The noise of one call: uniforms by slot, drawn lazily from the field and recorded.

    Custom mechanisms receive this object: ``noise["ok"]``, ``noise["latency"]``, or any slot
    name of their own. ``override`` holds slots fixed by abduction; ``draw`` selects fresh
    draws (``resample``).

    >>> n = Noise(_seed_key(1), "a#0/t#0", 0, None)
    >>> n["ok"] == uniform(1, "a#0/t#0", "ok") and list(n.recorded) == ["ok"]
    True
    """

    __slots__ = ("_address", "_draw", "_override", "_seed_key", "recorded")

    def __init__(
        self, seed_key: int, address: str, draw: int, override: dict[str, float] | None
    ) -> None:
        self._seed_key = seed_key
        self._address = address
        self._draw = draw
        self._override = override
        self.recorded: dict[str, float] = {}

    def __getitem__(self, slot: str) -> float:
        u = self.recorded.get(slot)
        if u is None:
            ovr = self._override
            if ovr is not None and slot in ovr:
                u = ovr[slot]
            else:
                u = _finish(self._seed_key, _site_key(self._address, slot), self._draw)
            self.recorded[slot] = u
        return u
