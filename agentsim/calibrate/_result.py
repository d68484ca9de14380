"""The result of a calibration: fitted parameters, the workflow flow, notes, and the twin file.

Layer: calibrate. It imports only from its own layer and the ones below it.

A :class:`Calibration` holds, per tool or model, a :class:`ToolParams` (``p_ok`` and
``p_recover`` with posterior intervals, the latency fit with its goodness-of-fit statistic,
the timeout, cost and tokens per call, and how many calls were casualties of a bad input), the
inferred :mod:`agentsim.workflow` flow, and notes on what the twin could not represent.
:meth:`Calibration.to_python` writes the twin as a readable scenario module: the flow written
with the workflow constructors and one ``dict`` of parameters per tool, each commented with its
interval and evidence, so a person can read it, edit it and run it with ``agentsim run``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentsim import dist
from agentsim import workflow as wf
from agentsim._io import atomic_write_text
from agentsim.calibrate._check import FitCheck, HeldOut, check_fit
from agentsim.calibrate._fit import LatencyFit
from agentsim.stats import Estimate

if TYPE_CHECKING:
    import pandas as pd

    from agentsim.scenario import Scenario
    from agentsim.trace import Trace

__all__ = ["Calibration", "ToolParams", "render_dist", "render_flow"]


@dataclass(frozen=True)
class ToolParams:
    """Fitted mechanism of one tool or model."""

    name: str
    kind: str
    """``tool`` or ``llm``."""
    calls: int
    """Calls seen in the corpus."""
    p_ok: Estimate
    """Success probability with good inputs: MLE (the posterior mode under a uniform prior)
    and the equal-tailed Beta posterior interval."""
    p_recover: Estimate | None
    """Success probability with a bad input (the leak), when the corpus shows such calls."""
    latency: LatencyFit
    timeout: float | None
    """The cut-off seen in the corpus, if any."""
    cost: float
    """Mean money per call."""
    tokens: float
    """Mean tokens per call (0 when the corpus records none)."""
    casualties: int
    """Calls made with a bad input (not counted against ``p_ok``)."""
    timed_out: int
    """Calls cut off by the timeout (not counted in ``p_ok``)."""
    parents: dict[str, str] = field(default_factory=dict)
    """Call site -> the step whose failure makes it fail (``none``: independent)."""

    def tool_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~agentsim.scenario.Tool` for the twin."""
        p_ok = self.p_ok.value
        out: dict[str, Any] = {"p_ok": p_ok, "latency": self.latency.dist}
        if self.p_recover is not None:
            out["p_recover"] = min(self.p_recover.value, p_ok)
        if self.cost:
            out["cost"] = self.cost
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.kind == "llm":
            out["kind"] = "llm"
        return out


@dataclass
class Calibration:
    """A scenario calibrated from a corpus of traces (a *twin*). See :func:`calibrate`."""

    name: str
    flow: wf.Flow
    """The inferred workflow: the entry agent ``main`` runs it."""
    params: dict[str, ToolParams]
    """Tool or model name -> fitted mechanism."""
    extra_tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tools the flow needs that no span measured directly (routing decisions, agents' own
    work), with their parameters."""
    root_agent: str = "main"
    """The name of the corpus's root agent (the twin calls it ``main``)."""
    traces: int = 0
    """Traces calibrated from."""
    corpus: dict[str, Estimate] = field(default_factory=dict)
    """Run success rate, mean latency and mean cost of the corpus."""
    structure: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per agent: order, retries, backups, parallel groups, optional steps, sequences seen."""
    notes: list[str] = field(default_factory=list)
    """What the twin approximates or leaves out, in words."""
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Work derived from the twin and reused (the matched runs of ``twin_locus``)."""

    def tools(self) -> dict[str, dict[str, Any]]:
        """Tool name -> parameters, as :func:`agentsim.workflow.scenario` takes them."""
        out = {name: p.tool_kwargs() for name, p in sorted(self.params.items())}
        out.update(self.extra_tools)
        return out

    @cached_property
    def scenario(self) -> Scenario:
        """The twin: a scenario compiled from :attr:`flow` and the fitted tools."""
        return wf.scenario(self.flow, self.tools(), name=self.name)

    def check(self, held_out: list[Trace] | HeldOut, *, n: int = 4000, seed: int = 0) -> FitCheck:
        """Compare the twin against held-out traces (see :func:`check_fit`)."""
        return check_fit(self, held_out, n=n, seed=seed)

    def to_pandas(self) -> pd.DataFrame:
        """One row per tool: p_ok, its interval, p_recover, latency family and median, ..."""
        import pandas as pd

        rows = []
        for name, p in sorted(self.params.items()):
            rows.append(
                {
                    "tool": name,
                    "kind": p.kind,
                    "calls": p.calls,
                    "p_ok": p.p_ok.value,
                    "p_ok_low": p.p_ok.low,
                    "p_ok_high": p.p_ok.high,
                    "p_recover": None if p.p_recover is None else p.p_recover.value,
                    "casualties": p.casualties,
                    "latency": p.latency.family,
                    "latency_median": p.latency.median(),
                    "ks": p.latency.ks,
                    "ks_pvalue": p.latency.ks_pvalue,
                    "timeout": p.timeout,
                    "cost": p.cost,
                    "tokens": p.tokens,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The fitted parameters and the structure, as plain text lines."""
        lines = [f"twin {self.name!r} from {self.traces} traces; flow: {_short(self.flow)}"]
        for name, p in sorted(self.params.items()):
            rec = "" if p.p_recover is None else f", p_recover {p.p_recover.value:.3f}"
            to = "" if p.timeout is None else f", timeout {p.timeout:g}s"
            lines.append(
                f"  {name} ({p.kind}, {p.calls} calls): p_ok {p.p_ok.value:.3f} "
                f"[{p.p_ok.low:.3f}, {p.p_ok.high:.3f}]{rec}; latency {p.latency.family} "
                f"median {p.latency.median():.3g}s (KS {p.latency.ks:.3f}){to}; "
                f"cost {p.cost:.4g}; casualties {p.casualties}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_python(self, path: str | os.PathLike[str]) -> Path:
        """Write the twin as a readable scenario module (atomically) and return the path.

        The module defines ``flow``, ``tools`` and ``scenario``; ``agentsim run FILE`` runs it.
        """
        return atomic_write_text(Path(path), self.python_source())

    def python_source(self) -> str:
        """The text :meth:`to_python` writes."""
        out = [
            f'"""Twin {self.name!r}: calibrated by agentsim from {self.traces} traces.',
            "",
            f"The corpus's root agent {self.root_agent!r} is the entry agent ``main``. "
            "Edit freely: it is an",
            "ordinary agentsim workflow scenario (run it with ``agentsim run`` on this file).",
            *(f"\nNote: {note}" for note in self.notes),
            '"""',
            "",
            "from agentsim import dist",
            "from agentsim import workflow as wf",
            "",
            f"flow = {render_flow(self.flow, 0)}",
            "",
            "tools = {",
        ]
        for name, p in sorted(self.params.items()):
            rec = (
                ""
                if p.p_recover is None
                else f", p_recover in [{p.p_recover.low:.3f}, {p.p_recover.high:.3f}]"
            )
            out.append(
                f"    # {p.calls} calls; p_ok {p.p_ok.confidence:.0%} interval "
                f"[{p.p_ok.low:.4f}, {p.p_ok.high:.4f}]{rec}; {p.casualties} casualties"
            )
            out.append(
                f"    # latency: {p.latency.family} by AIC, KS {p.latency.ks:.3f} "
                f"(p={p.latency.ks_pvalue:.3g}), {p.latency.censored} censored"
            )
            out.append(f"    {name!r}: {_render_kwargs(p.tool_kwargs())},")
        for name, kw in sorted(self.extra_tools.items()):
            out.append(f"    {name!r}: {_render_kwargs(kw)},")
        out += [
            "}",
            "",
            f"scenario = wf.scenario(flow, tools, name={self.name!r})",
            "",
        ]
        return "\n".join(out)


def _short(flow: wf.Flow) -> str:
    text = render_flow(flow, None)
    return text if len(text) < 200 else text[:197] + "..."


def render_dist(d: Any) -> str:
    """Constructor code of an :mod:`agentsim.dist` distribution.

    >>> render_dist(dist.LogNormal(median=0.5, sigma=0.25))
    'dist.LogNormal(median=0.5, sigma=0.25)'
    """
    if isinstance(d, dist.LogNormal):
        return f"dist.LogNormal(median={d.median_!r}, sigma={d.sigma!r})"
    if isinstance(d, dist.Exponential):
        return f"dist.Exponential(mean={d.mean!r})"
    if isinstance(d, dist.Normal):
        return f"dist.Normal(mean={d.mean!r}, sd={d.sd!r})"
    if isinstance(d, dist.Uniform):
        return f"dist.Uniform(low={d.low!r}, high={d.high!r})"
    if isinstance(d, dist.Fixed):
        return f"dist.Fixed(value={d.value!r})"
    if isinstance(d, dist.Empirical):
        return f"dist.Empirical(samples={list(d.samples)!r})"
    return repr(d)


def _render_kwargs(kw: dict[str, Any]) -> str:
    parts = []
    for k, v in kw.items():
        if isinstance(v, float):
            parts.append(f"{k}={round(v, 6)!r}")
        elif isinstance(v, str | int):
            parts.append(f"{k}={v!r}")
        else:
            parts.append(f"{k}={render_dist(v)}")
    return "dict(" + ", ".join(parts) + ")"


def render_flow(flow: wf.Flow, indent: int | None) -> str:
    """Constructor code of a workflow (``indent`` ``None``: one line).

    >>> render_flow(wf.seq(wf.retry(wf.call("a"), n=2), wf.call("b")), None)
    'wf.seq(wf.retry(wf.call("a"), n=2), wf.call("b"))'
    """

    def args(items: list[str], tail: str = "") -> str:
        if indent is None:
            return ", ".join(items) + tail
        pad = "    " * (indent + 1)
        return "\n" + "".join(f"{pad}{item},\n" for item in items) + ("    " * indent) + tail

    sub = None if indent is None else indent + 1
    if isinstance(flow, wf.Call):
        return f"wf.call({json.dumps(flow.tool)})"
    if isinstance(flow, wf.Seq):
        return f"wf.seq({args([render_flow(s, sub) for s in flow.steps])})"
    if isinstance(flow, wf.Par):
        mode = "" if flow.mode == "all" else f', mode="{flow.mode}"'
        return f"wf.par({', '.join(render_flow(s, None) for s in flow.steps)}{mode})"
    if isinstance(flow, wf.Retry):
        return f"wf.retry({render_flow(flow.step, indent)}, n={flow.n})"
    if isinstance(flow, wf.Fallback):
        return (
            f"wf.fallback({render_flow(flow.primary, indent)}, {render_flow(flow.backup, indent)})"
        )
    if isinstance(flow, wf.Subagent):
        return f"wf.subagent({json.dumps(flow.name)}, {render_flow(flow.body, indent)})"
    assert isinstance(flow, wf.Choose)
    opts = ", ".join(
        f"{json.dumps(o.name)}: ({o.weight!r}, {render_flow(o.flow, None)})" for o in flow.options
    )
    return f"wf.choose({json.dumps(flow.model)}, {{{opts}}})"
