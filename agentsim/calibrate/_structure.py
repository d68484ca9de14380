"""Workflow structure of an agent, inferred from the call lists of its instances.

Layer: calibrate. It imports only from its own layer and the ones below it.

Traces record what an agent called and when, not the program that decided it. From the calls
of every instance of one agent, the structure is read in four steps:

1. *parallel groups*: calls whose time intervals overlap ran concurrently (``par``);
2. *retries*: the same tool called again right after it failed is another attempt of one step
   (``retry``), and the largest number of attempts seen, minus one, is the retry limit;
3. *fallbacks*: a tool B that only ever runs right after a failed step of tool A is A's backup
   (``fallback(A, B)``);
4. *the sequence*: each instance is now a sequence of steps keyed by their primary tool; the
   most common sequence is the agent's order, and every instance is aligned to it in order
   (a step an instance lacks is missing there; steps outside the order are counted as
   unexplained and reported).

The result, an :class:`AgentStructure`, holds the order, the retry limits, the backups, and the
alignment of every instance (used to read the data dependencies and the fit evidence).

Examples
--------
>>> from agentsim.calibrate._corpus import Call, Instance
>>> inst = Instance("main", True, 0, 3, [Call("a", "tool", 0, 1, False),
...     Call("a", "tool", 1, 2, True), Call("b", "tool", 2, 3, True)])
>>> s = infer_structure("main", [inst])
>>> s.order, s.retries
(['a', 'b'], {'a': 1})
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from agentsim.calibrate._corpus import Call, Instance

__all__ = ["AgentStructure", "Step", "infer_structure", "segment"]

_EPS = 1e-9


@dataclass(slots=True)
class Step:
    """One step of one instance: a retried call (possibly with backups) or a parallel group."""

    key: str
    """The primary tool's label, or ``par(a+b)`` for a parallel group."""
    parts: list[list[Call]]
    """Attempts of the primary, then of each backup that ran; one list per parallel call."""
    labels: list[str]
    """The label of each part."""
    parallel: bool = False

    @property
    def ok(self) -> bool:
        """The step's output: its last part ok (a parallel group: every call ok)."""
        if self.parallel:
            return all(p[-1].ok for p in self.parts)
        return self.parts[-1][-1].ok


@dataclass
class AgentStructure:
    """The inferred structure of one agent and the alignment of its instances to it."""

    agent: str
    order: list[str]
    """Step keys in order."""
    retries: dict[str, int] = field(default_factory=dict)
    """Tool label -> retry limit (attempts - 1), for tools retried at least once."""
    backups: dict[str, list[str]] = field(default_factory=dict)
    """Primary label -> its backups, in the order they are tried."""
    parallel: dict[str, list[str]] = field(default_factory=dict)
    """Parallel step key -> the labels of its branches."""
    kinds: dict[str, str] = field(default_factory=dict)
    """Label -> ``tool``, ``llm`` or ``agent``."""
    aligned: list[list[Step | None]] = field(default_factory=list)
    """Per instance, its step at each position of ``order`` (``None``: the step is missing)."""
    instances: list[Instance] = field(default_factory=list)
    unexplained: int = 0
    """Steps of instances that do not fit the order (reported, not modelled)."""
    sequences: int = 0
    """Number of distinct step sequences seen."""
    optional: dict[str, float] = field(default_factory=dict)
    """Step key -> fraction of instances that ran it, for steps not in every instance."""


def _groups(calls: Sequence[Call]) -> list[list[Call]]:
    """Calls grouped by overlap in time (a call starting before the group ended joins it)."""
    out: list[list[Call]] = []
    end = -float("inf")
    for c in sorted(calls, key=lambda c: c.start):
        tol = _EPS * max(1.0, abs(end)) if end != -float("inf") else 0.0
        if out and c.start < end - tol:
            out[-1].append(c)
            end = max(end, c.end)
        else:
            out.append([c])
            end = c.end
    return out


def segment(inst: Instance) -> list[Step]:
    """The steps of one instance: parallel groups and retried calls (before fallbacks)."""
    steps: list[Step] = []
    for group in _groups(inst.calls):
        if len(group) > 1:
            labels = sorted(c.label for c in group)
            steps.append(
                Step(
                    f"par({'+'.join(labels)})",
                    [[c] for c in group],
                    [c.label for c in group],
                    parallel=True,
                )
            )
            continue
        call = group[0]
        prev = steps[-1] if steps else None
        if (
            prev is not None
            and not prev.parallel
            and len(prev.parts) == 1
            and prev.key == call.label
            and not prev.parts[0][-1].ok
        ):
            prev.parts[0].append(call)
        else:
            steps.append(Step(call.label, [[call]], [call.label]))
    return steps


def _find_backups(seqs: list[list[Step]]) -> dict[str, list[str]]:
    """B is A's backup when every step of B follows directly after a failed step of A."""
    after_fail: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for steps in seqs:
        for i, s in enumerate(steps):
            if s.parallel:
                continue
            total[s.key] += 1
            if i and not steps[i - 1].parallel and not steps[i - 1].ok:
                after_fail[s.key][steps[i - 1].key] += 1
    backup_of: dict[str, str] = {}
    for b, n in total.items():
        for a, k in after_fail[b].items():
            if k == n and a != b:
                backup_of[b] = a
    chains: dict[str, list[str]] = {}
    for b, a in sorted(backup_of.items()):
        root = a
        seen = {b}
        while root in backup_of and root not in seen:
            seen.add(root)
            root = backup_of[root]
        chains.setdefault(root, [])
    for root in chains:
        cur = root
        while True:
            nxt = next((b for b, a in sorted(backup_of.items()) if a == cur), None)
            if nxt is None or nxt in chains[root]:
                break
            chains[root].append(nxt)
            cur = nxt
    return chains


def _merge(steps: list[Step], backups: dict[str, list[str]]) -> list[Step]:
    backup_labels = {b for chain in backups.values() for b in chain}
    out: list[Step] = []
    for s in steps:
        prev = out[-1] if out else None
        if (
            not s.parallel
            and s.key in backup_labels
            and prev is not None
            and not prev.parallel
            and prev.key in backups
            and not prev.ok
            and len(prev.labels) <= len(backups[prev.key])
            and backups[prev.key][len(prev.labels) - 1] == s.key
        ):
            prev.parts.append(s.parts[0])
            prev.labels.append(s.key)
            continue
        out.append(s)
    return out


def _align(keys: list[str], order: list[str]) -> tuple[list[int | None], int]:
    """Greedy in-order match of an instance's step keys to ``order``."""
    slots: list[int | None] = [None] * len(order)
    j = 0
    used = 0
    for pos, want in enumerate(order):
        k = j
        while k < len(keys) and keys[k] != want:
            k += 1
        if k < len(keys):
            slots[pos] = k
            j = k + 1
            used += 1
    return slots, len(keys) - used


def infer_structure(agent: str, instances: Sequence[Instance]) -> AgentStructure:
    """Infer the structure of ``agent`` from its instances (see the module docstring)."""
    raw = [segment(inst) for inst in instances]
    backups = _find_backups(raw)
    seqs = [_merge(steps, backups) for steps in raw]
    counts = Counter(tuple(s.key for s in steps) for steps in seqs)
    order = (
        list(max(counts.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[0]) if counts else []
    )
    st = AgentStructure(agent, order, backups=backups, instances=list(instances))
    st.sequences = len(counts)
    attempts: dict[str, int] = defaultdict(int)
    present: Counter[str] = Counter()
    for steps in seqs:
        slots, extra = _align([s.key for s in steps], order)
        st.unexplained += extra
        row: list[Step | None] = [None if k is None else steps[k] for k in slots]
        st.aligned.append(row)
        for step in row:
            if step is None:
                continue
            present[step.key] += 1
            if step.parallel:
                st.parallel.setdefault(step.key, sorted(step.labels))
            for label, part in zip(step.labels, step.parts, strict=True):
                if not step.parallel:
                    attempts[label] = max(attempts[label], len(part))
                st.kinds.setdefault(label, part[0].kind)
        for s in steps:  # unaligned steps name kinds too
            for label, part in zip(s.labels, s.parts, strict=True):
                st.kinds.setdefault(label, part[0].kind)
    st.retries = {label: n - 1 for label, n in attempts.items() if n > 1}
    total = max(len(instances), 1)
    st.optional = {k: present[k] / total for k in order if present[k] < len(instances)}
    return st
