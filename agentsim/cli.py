"""The ``agentsim`` command.

Every user error (a missing file, a file without ``scenario``, a bad option, a malformed
trace) prints one line on standard error and exits with status 2; never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from agentsim.errors import AgentSimError, ScenarioError

app = typer.Typer(
    name="agentsim",
    help="Why did this agent run turn out as it did? Simulate, intervene, attribute.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Planted-fault benchmarks with exact labels.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

out = Console(soft_wrap=True)  # plain lines stay whole, for pipes and copy-paste


class UserError(AgentSimError):
    """A command-line usage error."""


# -- loading ----------------------------------------------------------------------------
def load_scenario(spec: str) -> Any:
    """Load ``scenario`` from a Python file path or a module name.

    Whatever the file raises while it is imported (a syntax error, a missing module, any
    exception at module level) becomes a :class:`~agentsim.errors.ScenarioError` naming the
    file; ``KeyboardInterrupt`` and ``SystemExit`` pass through.

    >>> load_scenario("no/such/file.py")
    Traceback (most recent call last):
    ...
    agentsim.cli.UserError: scenario file 'no/such/file.py' does not exist
    """
    from agentsim.scenario import Scenario

    path = Path(spec)
    if path.is_dir():
        raise UserError(
            f"scenario path {spec!r} is a directory; give a Python file that defines "
            "`scenario` (such as scenarios/support_desk.py) or a module name"
        )
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise UserError(f"scenario file {spec!r} does not exist")
        module = _import_file(spec, path)
    else:
        try:
            module = importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (spec + ".").startswith(exc.name + "."):
                raise ScenarioError(_import_failure("scenario module", spec, exc)) from exc
            raise UserError(
                f"no scenario file or module {spec!r}; give a path to a .py file or an "
                "importable module name"
            ) from None
        except Exception as exc:
            raise ScenarioError(_import_failure("scenario module", spec, exc)) from exc
    sc = getattr(module, "scenario", None)
    if not isinstance(sc, Scenario):
        raise UserError(
            f"{spec!r} defines no `scenario` (an agentsim.Scenario); add `scenario = ...` at "
            "module level"
        )
    return sc


def _import_file(spec: str, path: Path) -> Any:
    """Execute a scenario file as a fresh module, turning its failures into ScenarioError."""
    name = f"_agentsim_scenario_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UserError(
            f"cannot import {spec!r} as a Python file; give a .py file that defines `scenario`"
        )
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # user code: anything may fail; BaseException still escapes
        sys.modules.pop(name, None)
        raise ScenarioError(
            _import_failure("scenario file", spec, exc, _line_in(exc, path))
        ) from exc
    return module


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` that was executing, deepest first, when ``exc`` was raised."""
    target = str(path.resolve())
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and str(Path(frame.filename).resolve()) == target:
            return frame.lineno
    return None


def _import_failure(kind: str, spec: str, exc: Exception, line: int | None = None) -> str:
    """One line naming what failed to import (and where), the exception, and the fix.

    >>> _import_failure("scenario file", "x.py", KeyError("k"), line=7)
    "scenario file 'x.py' failed to import at line 7: KeyError: 'k'; fix the scenario file"
    """
    at = f" at line {line}" if line is not None else ""
    if isinstance(exc, SyntaxError):
        detail = f"{exc.msg} ({exc.filename}, line {exc.lineno})"
    else:
        detail = str(exc) or "(no message)"
    # main() prints only the first line of an error, so the message must be one line
    if isinstance(exc, AgentSimError):  # its message already names the value and the fix
        return " ".join(f"{kind} {spec!r} failed to import{at}: {detail}".split())
    detail = " ".join(detail.split())
    return f"{kind} {spec!r} failed to import{at}: {type(exc).__name__}: {detail}; fix the {kind}"


def is_scenario_spec(spec: str) -> bool:
    """A ``.py`` file or an importable module name (not an existing data file)."""
    p = Path(spec)
    if spec.endswith(".py"):
        return True
    return not p.exists() and "/" not in spec and not spec.endswith((".json", ".jsonl"))


def _load_traces(path: str, fmt: str | None = None) -> list[Any]:
    """Every trace of one file, in any supported format; a directory is refused."""
    from agentsim.ingest import load_traces

    if not Path(path).exists():
        raise UserError(f"trace file {path!r} does not exist")
    if Path(path).is_dir():  # the loader would read the whole tree below it
        raise UserError(
            f"{path!r} is a directory; give a trace file, such as one of the .json or .jsonl "
            "files in it"
        )
    traces = load_traces(path, format=fmt)
    if not traces:
        raise UserError(f"{path!r} holds no trace")
    return traces


def _load_trace(path: str, fmt: str | None = None, index: int = 0) -> Any:
    traces = _load_traces(path, fmt)
    if not 0 <= index < len(traces):
        raise UserError(
            f"{path!r} holds {len(traces)} traces; --trace must be in "
            f"[0, {len(traces) - 1}], got {index}"
        )
    return traces[index]


# -- printing ---------------------------------------------------------------------------
def summary_table(batch: Any) -> Table:
    """Success rate, latency and cost of a batch, with 95% intervals."""
    import numpy as np

    t = Table(title=f"{batch.scenario.name}: {len(batch)} runs (seed {batch.seed})")
    t.add_column("outcome")
    t.add_column("estimate", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("p50 / p95", justify="right")
    rate = batch.rate("success")
    t.add_row("success rate", f"{rate.value:.3f}", f"[{rate.low:.3f}, {rate.high:.3f}]", "")
    for name, unit in (("latency", "s"), ("cost", "")):
        m = batch.mean(name)
        v = batch.values(name)
        p50, p95 = np.percentile(v, [50, 95])
        t.add_row(
            f"{name} (mean)",
            f"{m.value:.3f}{unit}",
            f"[{m.low:.3f}, {m.high:.3f}]",
            f"{p50:.3f} / {p95:.3f}",
        )
    for name in batch.scenario.outcomes:
        m = batch.mean(name)
        t.add_row(f"{name} (mean)", f"{m.value:.3f}", f"[{m.low:.3f}, {m.high:.3f}]", "")
    return t


def trace_tree(trace: Any, title: str | None = None) -> Tree:
    """A trace as a rich tree: one line per span with times and failures."""
    label = title or f"trace {trace.trace_id or ''} ({trace.source})"
    tree = Tree(f"[bold]{escape(label)}[/bold]")
    nodes: dict[str | None, Tree] = {None: tree}
    known = {s.address for s in trace.spans}
    for s in trace.spans:
        parent = s.parent if s.parent in known else None
        error = escape(s.error or "")  # imported names and errors may hold [brackets]
        mark = "[green]ok[/green]" if s.ok else f"[red]FAILED[/red] {error}"
        if s.status != "done":
            mark = f"[yellow]{s.status}[/yellow] {error}"
        extra = f" queued {s.queued:.2f}s" if s.queued > 0 else ""
        value = escape(f" -> {s.value!r}") if s.kind == "choice" else ""
        line = (
            f"{escape(s.address)} [dim]{s.kind}[/dim] {s.start:.2f}-{s.end:.2f}s "
            f"{mark}{value}{extra}"
        )
        node = nodes.get(parent, tree).add(line)
        nodes[s.address] = node
    return tree


def _print_outcomes(title: str, outcomes: dict[str, Any]) -> None:
    vals = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in outcomes.items()
    )
    out.print(f"[bold]{escape(title)}[/bold]: {escape(vals)}")


# -- parsing ----------------------------------------------------------------------------
def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    try:
        return float(text)
    except ValueError:
        return text


def parse_do(spec: str) -> Any:
    """Parse ``ADDRESS:ok=true,latency=2`` into ``asim.do``.

    >>> parse_do("main#0/a#0:ok=false").describe()
    'do(main#0/a#0, ok=False)'
    """
    from agentsim.interventions import do

    target, sep, rest = spec.rpartition(":")
    if not sep or not target or "=" not in rest:
        raise UserError(
            f"--do {spec!r} must look like ADDRESS:ok=true (or latency=, value=, cost=)"
        )
    kwargs: dict[str, Any] = {}
    for part in rest.split(","):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or key not in ("ok", "latency", "value", "cost"):
            raise UserError(f"--do {spec!r}: unknown field {key!r}; use ok, latency, value, cost")
        value = _parse_value(raw)
        if key == "ok":
            if not isinstance(value, bool):
                raise UserError(f"--do {spec!r}: ok must be true or false, got {raw!r}")
        elif key in ("latency", "cost") and not isinstance(value, float):
            raise UserError(f"--do {spec!r}: {key} must be a number, got {raw!r}")
        kwargs[key] = value
    return do(target, **kwargs)


# -- commands ---------------------------------------------------------------------------
@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="number of runs")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="batch seed")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    out_file: Annotated[str | None, typer.Option("--out", help="write traces (.jsonl)")] = None,
) -> None:
    """Simulate a scenario and print success, latency and cost with intervals."""
    from agentsim.trace import save_trace

    sc = load_scenario(scenario)
    batch = sc.simulate(runs, seed, workers=workers, keep_traces=out_file is not None)
    out.print(summary_table(batch))
    if out_file:
        path = (
            save_trace([r.trace for r in batch], out_file)
            if out_file.endswith(".jsonl") or runs > 1
            else save_trace(batch[0].trace, out_file)
        )
        out.print(f"wrote {len(batch)} traces to {path}")


@app.command()
def show(
    trace: Annotated[str, typer.Argument(help="trace file in any supported format")],
    fmt: Annotated[str | None, typer.Option("--format", help="force a format")] = None,
) -> None:
    """Print the traces of a file as trees with times and failures."""
    for tr in _load_traces(trace, fmt):
        out.print(trace_tree(tr))
        if tr.outcomes:
            _print_outcomes("outcomes", tr.outcomes)
        for w in tr.attributes.get("warnings", []) or []:
            out.print(f"[yellow]warning[/yellow]: {escape(str(w))}")


@app.command()
def whatif(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    seed: Annotated[int, typer.Option(min=0, help="seed of the run to question")] = 0,
    do_: Annotated[list[str] | None, typer.Option("--do", help="ADDRESS:ok=true,...")] = None,
    repair_: Annotated[list[str] | None, typer.Option("--repair", help="target")] = None,
    break__: Annotated[list[str] | None, typer.Option("--break", help="target")] = None,
) -> None:
    """Run a seed, apply interventions, print factual and counterfactual outcomes and the diff."""
    from agentsim.counterfactuals import counterfactual
    from agentsim.interventions import break_, repair

    ivs = [parse_do(s) for s in do_ or []]
    ivs += [repair(t) for t in repair_ or []] + [break_(t) for t in break__ or []]
    if not ivs:
        raise UserError("give at least one intervention: --do ADDRESS:ok=true, --repair, --break")
    sc = load_scenario(scenario)
    factual = sc.run(seed=seed)
    cf = counterfactual(factual, ivs)
    out.print("interventions: " + "; ".join(iv.describe() for iv in ivs))
    _print_outcomes("factual", factual.outcomes)
    _print_outcomes("counterfactual", cf.outcomes)
    out.print(str(cf.diff(factual)), markup=False)
    if cf.unaligned:
        out.print(f"unaligned (interventional noise): {', '.join(cf.unaligned)}", markup=False)


@app.command()
def attribute(
    target: Annotated[str, typer.Argument(help="scenario (.py or module) or trace file")],
    seed: Annotated[int, typer.Option(min=0, help="seed of the run (scenarios)")] = 0,
    method: Annotated[
        str, typer.Option(help="shapley|banzhaf|but-for|actual|decisive")
    ] = "shapley",
    over: Annotated[str, typer.Option(help="calls|agents|tools")] = "calls",
    outcome: Annotated[str, typer.Option(help="outcome to explain")] = "success",
    game: Annotated[str, typer.Option(help="repair|break|resample|baseline|auto")] = "auto",
    trace_index: Annotated[int, typer.Option("--trace", min=0, help="which trace of the file")] = 0,
) -> None:
    """Attribute a run's (or an imported trace's) outcome to its calls, agents or tools."""
    from agentsim.attribution.api import attribute as attribute_fn

    if is_scenario_spec(target):
        world: Any = load_scenario(target).run(seed=seed)
        factual = world.outcomes
        label = f"run seed {seed}"
    else:
        world = _load_trace(target, None, trace_index)
        factual = world.outcomes
        label = target
    if game == "auto":
        if outcome in ("latency", "cost"):
            game = "baseline"
        else:
            game = "repair" if not factual.get(outcome, 0.0) else "break"
    _print_outcomes(label, factual)
    name = method.replace("-", "_")
    if name in ("shapley", "banzhaf", "but_for"):
        result = attribute_fn(world, method=name, players=over, game=game, outcome=outcome)
        out.print(result)
    elif name in ("actual", "actual_causes"):
        effect = {outcome: factual.get(outcome)}
        causes = attribute_fn(world, method="actual", effect=effect, max_size=2)
        if not causes:
            out.print("no actual cause of size <= 2 found")
        for c in causes:
            out.print(str(c), markup=False)
    elif name in ("decisive", "decisive_error"):
        locus = attribute_fn(world, method="decisive", outcome=outcome)
        out.print(
            str(locus) if locus else "no single repair turns this run into a success", markup=False
        )
    else:
        raise UserError(
            f"unknown --method {method!r}; use shapley, banzhaf, but-for, actual, decisive"
        )


@app.command(name="import")
def import_(
    file: Annotated[str, typer.Argument(help="trace file in any supported format")],
    fmt: Annotated[str | None, typer.Option("--format", help="force a format")] = None,
    out_file: Annotated[str | None, typer.Option("--out", help="agentsim JSON to write")] = None,
) -> None:
    """Import traces and write them in agentsim's format (.jsonl for several)."""
    from agentsim.trace import save_trace

    traces = _load_traces(file, fmt)
    for tr in traces:
        n_err = sum(1 for s in tr.spans if not s.ok)
        out.print(
            f"{tr.trace_id or file}: {tr.source}, {len(tr.spans)} spans, {n_err} failed",
            markup=False,
        )
        for w in tr.attributes.get("warnings", []) or []:
            out.print(f"[yellow]warning[/yellow]: {escape(str(w))}")
    if out_file:
        if len(traces) > 1 and not out_file.endswith(".jsonl"):
            raise UserError(f"{file!r} holds {len(traces)} traces; give an --out ending .jsonl")
        save_trace(traces if len(traces) > 1 else traces[0], out_file, indent=None)
        out.print(f"wrote {len(traces)} trace(s) to {out_file}")


@app.command(name="validate")
def validate_cmd(
    target: Annotated[str, typer.Argument(help="a trace file or a folder of traces")],
    claims: Annotated[str, typer.Option("--claims", help="JSON: trace name -> claim")],
    against: Annotated[str | None, typer.Option(help="a second claims file to compare")] = None,
    k: Annotated[int, typer.Option(min=0, help="tolerance of within-k")] = 3,
    reference: Annotated[str, typer.Option(help="decisive|annotation")] = "decisive",
) -> None:
    """Score attribution claims against the engine's answer (or another set of claims)."""
    from agentsim.validate import load_claims, validate

    if not Path(target).exists():
        raise UserError(f"{target!r} does not exist")
    if not Path(claims).is_file():
        raise UserError(f"claims file {claims!r} does not exist")
    other = load_claims(against) if against else None
    result = validate(target, load_claims(claims), against=other, k=k, world_method=reference)
    out.print(str(result), markup=False)


@bench_app.command("generate")
def bench_generate(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    fault: Annotated[
        list[str], typer.Option(help="KIND:TARGET[:PARAMS], e.g. set_params:search:p_ok=0.5")
    ],
    out_dir: Annotated[str, typer.Option("--out", help="folder for the Who&When files")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="labelled failures")] = 100,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace numbered files in --out")] = False,
) -> None:
    """Plant a fault, label failed runs with their exact decisive error, write Who&When files."""
    from agentsim.bench import export_whowhen, generate, parse_fault

    sc = load_scenario(scenario)
    bench = generate(sc, fault=[parse_fault(f) for f in fault], n=runs, seed=seed)
    paths = export_whowhen(bench, out_dir, overwrite=overwrite)
    out.print(str(bench), markup=False)
    out.print(f"wrote {len(paths)} files to {out_dir}")


@bench_app.command("score")
def bench_score(
    predictions: Annotated[str, typer.Argument(help="predictions: folder or JSON file")],
    labels: Annotated[str, typer.Argument(help="Who&When label folder or file")],
) -> None:
    """Score (agent, step) predictions against labels, with exact integer step matching."""
    from agentsim.bench import score_files

    for path in (predictions, labels):
        if not Path(path).exists():
            raise UserError(f"{path!r} does not exist")
    out.print(str(score_files(predictions, labels)), markup=False)


@bench_app.command("whowhen")
def bench_whowhen(
    folder: Annotated[str, typer.Argument(help="a folder of Who&When logs (subfolders: subsets)")],
) -> None:
    """Score the locator beside trivial baselines (first reply, last speaker, author before the
    first error word) on the same Who&When logs, and say where it does not beat them."""
    from agentsim.bench import compare_on_whowhen

    if not Path(folder).is_dir():
        raise UserError(f"{folder!r} is not a folder of Who&When logs")
    out.print(str(compare_on_whowhen(folder)), markup=False)


@app.command()
def demo(
    runs: Annotated[int, typer.Option("--runs", "-n", min=10)] = 3000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """The tour: simulate the support desk, show a failed run, its counterfactual and why."""
    from agentsim.attribution.api import shapley
    from agentsim.attribution.baselines import decisive_error
    from agentsim.counterfactuals import counterfactual
    from agentsim.interventions import repair

    sc = load_scenario("agentsim.scenarios.support_desk")
    batch = sc.simulate(runs, seed, progress=True)
    out.print(summary_table(batch))
    failed = next(iter(batch.failures()), None)
    if failed is None:
        out.print("no run failed; nothing to explain")
        return
    out.print(trace_tree(failed.trace, f"a failed run (seed {failed.seed})"))
    first = next((s for s in failed.trace.calls() if not s.ok), None)
    if first is not None:
        cf = counterfactual(failed, repair(first.address))
        out.print(f"\n[bold]what if {escape(first.address)} had succeeded?[/bold]")
        out.print(str(cf.diff(failed)), markup=False)
    locus = decisive_error(failed)
    out.print(
        "\n[bold]decisive error[/bold]: "
        + (str(locus) if locus else "none (no single repair fixes this run)")
    )
    out.print(shapley(failed, players="calls", game="repair"))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning every user error into one line and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False, prog_name="agentsim")
    except typer.Abort:
        print("agentsim: aborted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, as vendored by typer
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            sys.exit(0)
        message = exc.format_message().strip().splitlines()
        print(f"agentsim: error: {message[0] if message else type(exc).__name__}", file=sys.stderr)
        sys.exit(2)
    except (AgentSimError, ScenarioError) as exc:
        print(f"agentsim: error: {exc}".splitlines()[0], file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        print(f"agentsim: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
