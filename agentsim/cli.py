"""The ``agentsim`` command.

Layer: face (the top). It may import from every layer below it.

Every user error (a missing file, a file without ``scenario``, a bad option, a malformed
trace) prints one line on standard error and exits with status 2; never a traceback.
"""

from __future__ import annotations

import math
import shutil
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as escape
from rich.text import Text

from agentsim._io import atomic_write_lines
from agentsim._version import __version__
from agentsim.attribution.api import attribute as attribute_fn
from agentsim.attribution.api import shapley
from agentsim.attribution.baselines import decisive_error
from agentsim.attribution.games import GAMES
from agentsim.bench import compare_on_whowhen, export_whowhen, generate, parse_fault, score_files
from agentsim.calibrate import calibrate_files
from agentsim.cli_args import (
    Game,
    Method,
    Over,
    Reference,
    UserError,
    check_out,
    emit_json,
    parse_do,
)
from agentsim.cli_load import (
    guard_read,
    is_scenario_spec,
    load_scenario,
    load_trace,
    load_traces,
)
from agentsim.counterfactuals import counterfactual
from agentsim.errors import AgentSimError, ScenarioError, ScenarioWarning
from agentsim.explain import explain, top_causes
from agentsim.interventions import break_, repair
from agentsim.trace import save_trace
from agentsim.validate import load_claims, validate
from agentsim.views import report as write_report
from agentsim.views.charts import require_plotly
from agentsim.views.jsondoc import trace_doc
from agentsim.views.terminal import (
    attribution_lines,
    clean,
    outcomes_line,
    plural,
    summary_rows,
    summary_table,
    tree_lines,
    tree_rows,
)

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
SPAN_KINDS = ("agent", "tool", "llm", "choice", "wait", "chain", "step", "other")

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON document (README)")]
ForceFlag = Annotated[bool, typer.Option("--force", help="replace an existing --out file")]
ModuleFlag = Annotated[
    bool, typer.Option("--module", "-m", help="SCENARIO is a Python module name to import")
]


# Names the commands used before the loaders and views moved out (cli_load, views.terminal),
# kept so that commands written against them keep working.
_load_traces = load_traces
_load_trace = load_trace


def _print_outcomes(title: str, outcomes: dict[str, Any]) -> None:
    say_wrapped(outcomes_line(title, outcomes).plain)


def say(text: object) -> None:
    """Print one line of plain text, control characters escaped (see ``clean``)."""
    out.print(Text(clean(text)))


def say_wrapped(text: str) -> None:
    """Print ``text`` wrapped to the terminal width, continuation lines indented."""
    for part in textwrap.wrap(clean(text), width(), subsequent_indent="      ") or [""]:
        out.print(Text(part))


def width() -> int:
    """Columns to fit: the terminal's, or ``COLUMNS``, or 100 in a pipe."""
    return shutil.get_terminal_size((100, 24)).columns


def _version(value: bool) -> None:
    if value:
        print(f"agentsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Why did this agent run turn out as it did? Simulate, intervene, attribute."""


def print_tree(trace: Any, title: str | None = None, **filters: Any) -> None:
    """A trace as tree lines that fit the terminal, then how many spans the filters hid."""
    n = len(trace.spans)
    say(title or f"trace {trace.trace_id or '(no id)'} ({trace.source}), {plural(n, 'span')}")
    for line in tree_lines(trace, width(), **filters):
        out.print(line)
    hidden = n - len(tree_rows(trace, **filters))
    if hidden:
        say(f"({plural(hidden, 'span')} hidden by --depth, --failed or --kinds)")


# # -- commands ---------------------------------------------------------------------------
@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="number of runs")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="batch seed")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    out_file: Annotated[str | None, typer.Option("--out", help="write traces (.jsonl)")] = None,
    force: ForceFlag = False,
    module: ModuleFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Simulate a scenario and print success, latency and cost with intervals."""
    if out_file:  # checked before simulating: a bad path costs nothing
        many = runs > 1 or out_file.endswith(".jsonl")
        why = f"{plural(runs, 'trace')} (one JSON trace per line)"
        check_out(out_file, force=force, suffixes=(".jsonl",) if many else (), why=why)
    sc = load_scenario(scenario, module=module)
    with warnings.catch_warnings():  # the crash line below says it once, in place
        warnings.simplefilter("ignore", ScenarioWarning)
        batch = sc.simulate(runs, seed, workers=workers)
    rows = summary_rows(batch)  # before the traces are streamed out and dropped
    crashed = batch.crash_summary()
    causes, examined = top_causes(batch)
    failed_seeds = [r.seed for r in batch.failures()][:3]
    if out_file:
        if out_file.endswith(".jsonl") or runs > 1:
            atomic_write_lines(out_file, _stream_traces(batch))
        else:
            save_trace(batch[0].trace, out_file)
    if as_json:
        emit_json(
            {
                "scenario": sc.name,
                "runs": len(batch),
                "seed": seed,
                "outcomes": {
                    label: {"value": e.value, "low": e.low, "high": e.high}
                    | ({"p50": q[0], "p95": q[1]} if q else {})
                    for label, e, _, q in rows
                },
                "crashes": crashed or None,
                "top_causes": {
                    "failed_runs_examined": examined,
                    "causes": [{"cause": name, "runs": count} for name, count in causes],
                },
                "failed_seeds": failed_seeds,
                "out": out_file,
            }
        )
        return
    out.print(summary_table(batch))
    if crashed:
        out.print(Text(crashed, style="red"))
    if examined:
        parts = ", ".join(f"{name} {count / examined:.0%}" for name, count in causes)
        say_wrapped(f"top causes of failure (decisive error, {examined} failed runs): {parts}")
        seeds = ", ".join(str(x) for x in failed_seeds)
        say_wrapped(f"failed runs to inspect (agentsim whatif/attribute/report --seed S): {seeds}")
    if out_file:
        say(f"wrote {plural(len(batch), 'trace')} to {out_file}")


@app.command(name="explain")
def explain_(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    over: Annotated[Over, typer.Option(help="players: tools, agents or calls")] = Over.tools,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="number of runs")] = 2000,
    seed: Annotated[int, typer.Option(min=0, help="batch seed")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    module: ModuleFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Explain a scenario's failures over its population: blame, leverage, decisive."""
    result = explain(
        load_scenario(scenario, module=module),
        over=over.value,
        n=runs,
        seed=seed,
        workers=workers,
    )
    if as_json:
        emit_json(
            {
                "over": result.over,
                "outcome": result.outcome,
                "runs": result.n,
                "seed": result.seed,
                "failure_rate": _estimate(result.failure_rate),
                "rows": [
                    {
                        "player": r.player,
                        "share": _estimate(r.share),
                        "leverage": _estimate(r.leverage),
                        "decisive": _estimate(r.decisive),
                    }
                    for r in result.rows
                ],
                "notes": list(result.notes),
            }
        )
        return
    out.print(result)


def _estimate(e: Any) -> dict[str, Any]:
    """An estimate as JSON (an undefined one, such as no failure to locate, is null)."""
    return {
        k: None if math.isnan(v) else v
        for k, v in (("value", e.value), ("low", e.low), ("high", e.high))
    }


@app.command(name="calibrate")
def calibrate_cmd(
    corpus: Annotated[list[str], typer.Argument(help="trace files or folders (any format)")],
    out_file: Annotated[str, typer.Option("--out", help="the twin scenario module to write")],
    holdout: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="fraction of traces kept for the fit check")
    ] = 0.2,
    seed: Annotated[int, typer.Option(min=0, help="seed of the split and of the twin's runs")] = 0,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="twin runs checked")] = 4000,
    force: ForceFlag = False,
) -> None:
    """Calibrate a twin from a corpus of traces: print its parameters and fit check, write it."""
    check_out(out_file, force=force, suffixes=(".py",), why="a scenario module")
    done = calibrate_files(corpus, holdout=holdout, seed=seed, out=out_file, runs=runs)
    out.print(escape(done.calibration.summary()))
    if done.check is not None:
        out.print(done.check.table())
    say(f"wrote the twin to {done.path} (run it with: agentsim run {done.path})")


def _stream_traces(batch: Any) -> Any:
    """One JSON line per run; each run's records are dropped once written."""
    for r in batch:
        yield r.trace.model_dump_json() + "\n"
        r.drop_records()


@app.command()
def show(
    trace: Annotated[str, typer.Argument(help="trace file in any supported format")],
    fmt: Annotated[str | None, typer.Option("--format", help="force a format")] = None,
    depth: Annotated[int | None, typer.Option(min=0, help="deepest level shown (0: roots)")] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="only failed spans (and parents)")
    ] = False,
    kinds: Annotated[str | None, typer.Option(help="only these kinds, e.g. llm,tool")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the traces of a file as trees: local name, kind, status and time per span."""
    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    for k in wanted or []:
        if k not in SPAN_KINDS:
            raise UserError(f"--kinds: unknown kind {k!r}; kinds are {', '.join(SPAN_KINDS)}")
    filters = {"depth": depth, "failed": failed, "kinds": wanted}
    traces = load_traces(trace, fmt)
    if as_json:
        emit_json({"file": trace, "traces": [trace_doc(tr, **filters) for tr in traces]})
        return
    for tr in traces:
        print_tree(tr, None, **filters)
        if tr.outcomes:
            say_wrapped(outcomes_line("outcomes", tr.outcomes).plain)
        for w in tr.attributes.get("warnings", []) or []:
            say_wrapped(f"warning: {w}")


@app.command()
def whatif(
    scenario: Annotated[str, typer.Argument(help="Python file or module defining `scenario`")],
    seed: Annotated[int, typer.Option(min=0, help="seed of the run to question")] = 0,
    do_: Annotated[list[str] | None, typer.Option("--do", help="ADDRESS:ok=true,...")] = None,
    repair_: Annotated[list[str] | None, typer.Option("--repair", help="target")] = None,
    break__: Annotated[list[str] | None, typer.Option("--break", help="target")] = None,
    module: ModuleFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Run a seed, apply interventions, print factual and counterfactual outcomes and the diff."""
    ivs = [parse_do(s) for s in do_ or []]
    ivs += [repair(t) for t in repair_ or []] + [break_(t) for t in break__ or []]
    if not ivs:
        raise UserError("give at least one intervention: --do ADDRESS:ok=true, --repair, --break")
    sc = load_scenario(scenario, module=module)
    factual = sc.run(seed=seed)
    cf = counterfactual(factual, ivs)
    diff = cf.diff(factual)
    if as_json:
        plain = (bool, int, float, str, type(None))
        emit_json(
            {
                "interventions": [iv.describe() for iv in ivs],
                "factual": factual.outcomes,
                "counterfactual": cf.outcomes,
                "changes": [
                    {
                        "address": c.address,
                        "field": c.field,
                        "before": c.before if isinstance(c.before, plain) else repr(c.before),
                        "after": c.after if isinstance(c.after, plain) else repr(c.after),
                    }
                    for c in diff.changes
                ],
                "added": diff.added,
                "removed": diff.removed,
                "unaligned": list(cf.unaligned),
            }
        )
        return
    say("interventions: " + "; ".join(iv.describe() for iv in ivs))
    say_wrapped(outcomes_line("factual", factual.outcomes).plain)
    say_wrapped(outcomes_line("counterfactual", cf.outcomes).plain)
    for line in str(diff).splitlines():
        say(line)
    if cf.unaligned:
        say(f"unaligned (interventional noise): {', '.join(cf.unaligned)}")


@app.command()
def attribute(
    target: Annotated[str, typer.Argument(help="scenario (.py or module) or trace file")],
    seed: Annotated[int, typer.Option(min=0, help="seed of the run (scenarios)")] = 0,
    method: Annotated[Method, typer.Option(help="attribution method")] = Method.shapley,
    over: Annotated[Over, typer.Option(help="players")] = Over.calls,
    outcome: Annotated[str, typer.Option(help="outcome to explain")] = "success",
    game: Annotated[
        Game, typer.Option(help="game (auto: the default for the outcome)")
    ] = Game.auto,
    trace_index: Annotated[int, typer.Option("--trace", min=0, help="which trace of the file")] = 0,
    top: Annotated[int | None, typer.Option(min=1, help="show the K largest values")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="also show zero values")] = False,
    module: ModuleFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Attribute a run's (or an imported trace's) outcome to its calls, agents or tools."""
    if game is not Game.auto and game.value not in GAMES:
        raise UserError(f"--game {game.value!r} is not available here; games are {list(GAMES)}")
    if is_scenario_spec(target):
        sc = load_scenario(target, module=module)
        known = {"success", "failure", "latency", "cost", *sc.outcomes}
        if outcome not in known:  # before simulating
            raise UserError(
                f"--outcome {outcome!r} is not an outcome of {sc.name!r}: {sorted(known)}"
            )
        world: Any = sc.run(seed=seed)
        label = f"run seed {seed}"
    else:
        world = load_trace(target, None, trace_index)
        label = target
        if outcome not in world.outcomes and outcome != "failure":
            raise UserError(f"--outcome {outcome!r} is not in this trace: {sorted(world.outcomes)}")
    factual = world.outcomes
    kwargs: dict[str, Any] = {"outcome": outcome, "players": over.value}
    if game is not Game.auto:
        kwargs["game"] = game.value
    elif outcome in ("latency", "cost"):
        kwargs["game"] = "baseline"
    elif factual.get(outcome, 0.0):
        kwargs["game"] = "break"  # a success is explained by what it depended on
    doc: dict[str, Any] = {"target": target, "outcomes": factual, "method": method.value}
    if not as_json:
        say_wrapped(outcomes_line(label, factual).plain)
    if method in (Method.shapley, Method.banzhaf, Method.but_for):
        result = attribute_fn(world, method=method.value.replace("-", "_"), **kwargs)
        if as_json:
            emit_json(doc | {"attribution": result.model_dump()})
        for line in (
            [] if as_json else attribution_lines(result, width(), top=top, show_zero=show_all)
        ):
            say_wrapped(line)
    elif method is Method.actual:
        effect = {outcome: factual.get(outcome)}
        causes = attribute_fn(world, method="actual", effect=effect, max_size=2)
        if as_json:
            emit_json(doc | {"causes": [str(c) for c in causes]})
            return
        if not causes:
            say("no actual cause of size <= 2 found")
        for c in causes:
            say(c)
    else:
        locus = attribute_fn(world, method="decisive", outcome=outcome)
        if as_json:
            found = (
                None
                if locus is None
                else {
                    "agent": locus.agent,
                    "step": locus.step,
                    "address": locus.address,
                    "evidence": locus.evidence,
                }
            )
            emit_json(doc | {"decisive": found})
            return
        say(locus if locus else "no single repair turns this run into a success")


@app.command()
def report(
    target: Annotated[str, typer.Argument(help="scenario (.py or module) or trace file")],
    out_file: Annotated[str, typer.Option("--out", help="the HTML file to write")],
    seed: Annotated[int | None, typer.Option(min=0, help="report one run of this seed")] = None,
    runs: Annotated[int | None, typer.Option("--runs", "-n", min=1, help="report a batch")] = None,
    trace_index: Annotated[int, typer.Option("--trace", min=0, help="which trace of the file")] = 0,
    force: ForceFlag = False,
    module: ModuleFlag = False,
) -> None:
    """Write one offline HTML report (timeline, root cause, attribution, causal graph)."""
    if seed is not None and runs is not None:
        raise UserError("give --seed S (one run) or --runs N (a batch), not both")
    check_out(out_file, force=force, suffixes=(".html", ".htm"), why="a report")
    require_plotly()
    obj: Any
    if is_scenario_spec(target):
        sc = load_scenario(target, module=module)
        obj = sc.simulate(runs, seed=0) if runs else sc.run(seed=seed or 0)
    else:
        if seed is not None or runs is not None:
            raise UserError(f"--seed and --runs are for scenarios; {target!r} is a trace file")
        obj = load_trace(target, None, trace_index)
    path = write_report(obj, out_file)
    say(f"wrote {path}")


@app.command(name="import")
def import_(
    file: Annotated[str, typer.Argument(help="trace file in any supported format")],
    fmt: Annotated[str | None, typer.Option("--format", help="force a format")] = None,
    out_file: Annotated[str | None, typer.Option("--out", help="agentsim JSON to write")] = None,
    force: ForceFlag = False,
) -> None:
    """Import traces and write them in agentsim's format (.jsonl for several)."""
    if out_file:
        check_out(out_file, force=force)
    traces = load_traces(file, fmt)
    for tr in traces:
        n_err = sum(1 for s in tr.spans if not s.ok)
        say(f"{tr.trace_id or file}: {tr.source}, {len(tr.spans)} spans, {n_err} failed")
        for w in tr.attributes.get("warnings", []) or []:
            say(f"warning: {w}")
    if out_file:
        if len(traces) > 1 and not out_file.endswith(".jsonl"):
            raise UserError(f"{file!r} holds {len(traces)} traces; give an --out ending .jsonl")
        try:
            save_trace(traces if len(traces) > 1 else traces[0], out_file, indent=None)
        except (UnicodeError, ValueError) as exc:
            raise UserError(
                f"cannot write {out_file!r}: the trace holds text that is not valid Unicode "
                f"(a lone surrogate such as \\ud800): {clean(exc)}"
            ) from None
        say(f"wrote {len(traces)} trace(s) to {out_file}")


@app.command(name="validate")
def validate_cmd(
    target: Annotated[str, typer.Argument(help="a trace file or a folder of traces")],
    claims: Annotated[str, typer.Option("--claims", help="JSON: trace name -> claim")],
    against: Annotated[str | None, typer.Option(help="a second claims file to compare")] = None,
    k: Annotated[int, typer.Option(min=0, help="tolerance of within-k")] = 3,
    reference: Annotated[Reference, typer.Option(help="what to score against")] = (
        Reference.decisive
    ),
    as_json: JsonFlag = False,
) -> None:
    """Score attribution claims against the engine's answer (or another set of claims)."""
    root = Path(target)
    if not root.exists():
        raise UserError(f"{target!r} does not exist")
    if root.is_dir() and not any(
        p.suffix in (".json", ".jsonl", ".ndjson") for p in root.rglob("*")
    ):
        raise UserError(f"folder {target!r} holds no trace file (.json, .jsonl, .ndjson)")
    if not Path(claims).is_file():
        raise UserError(f"claims file {claims!r} does not exist")
    mine = guard_read(f"claims file {claims!r}", load_claims, claims)
    other = guard_read(f"claims file {against!r}", load_claims, against) if against else None
    result = validate(target, mine, against=other, k=k, world_method=reference.value)
    if as_json:
        emit_json(result.to_dict())
        return
    for line in str(result).splitlines():
        say(line)


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
    module: ModuleFlag = False,
) -> None:
    """Plant a fault, label failed runs with their exact decisive error, write Who&When files."""
    faults = [parse_fault(f) for f in fault]
    try:  # writing no item checks the folder before anything is simulated
        export_whowhen([], out_dir, overwrite=overwrite)
    except AgentSimError as exc:  # the library names its keyword; the command has a flag
        raise type(exc)(str(exc).replace("overwrite=True", "--overwrite")) from None
    sc = load_scenario(scenario, module=module)
    bench = generate(sc, fault=faults, n=runs, seed=seed)
    paths = export_whowhen(bench, out_dir, overwrite=overwrite)
    say(bench)
    say(f"wrote {len(paths)} files to {out_dir}")


@bench_app.command("score")
def bench_score(
    predictions: Annotated[str, typer.Argument(help="predictions: folder or JSON file")],
    labels: Annotated[str, typer.Argument(help="Who&When label folder or file")],
    as_json: JsonFlag = False,
) -> None:
    """Score (agent, step) predictions against labels, with exact integer step matching."""
    for path in (predictions, labels):
        if not Path(path).exists():
            raise UserError(f"{path!r} does not exist")
    subject = f"predictions {predictions!r} or labels {labels!r}"
    result = guard_read(subject, score_files, predictions, labels)
    if result.n == 0:
        raise UserError(f"no labelled item to score in {labels!r} (matched to {predictions!r})")
    if as_json:
        emit_json(
            {
                "n": result.n,
                "agent_accuracy": result.agent_accuracy,
                "step_accuracy": result.step_accuracy,
                "within_1": result.within_k(1),
                "agent_hits": result.agent_hits,
                "step_hits": result.step_hits,
                "distances": list(result.distances),
            }
        )
        return
    say(result)


@bench_app.command("whowhen")
def bench_whowhen(
    folder: Annotated[str, typer.Argument(help="a folder of Who&When logs (subfolders: subsets)")],
) -> None:
    """Score the locator beside trivial baselines (first reply, last speaker, author before the
    first error word) on the same Who&When logs, and say where it does not beat them."""
    if not Path(folder).is_dir():
        raise UserError(f"{folder!r} is not a folder of Who&When logs")
    out.print(str(compare_on_whowhen(folder)), markup=False)


@app.command()
def demo(
    runs: Annotated[int, typer.Option("--runs", "-n", min=10)] = 3000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """The tour: simulate the support desk, show a failed run, its counterfactual and why."""
    sc = load_scenario("agentsim.scenarios.support_desk", module=True)
    batch = sc.simulate(runs, seed, progress=True)
    out.print(summary_table(batch))
    failed = next(iter(batch.failures()), None)
    if failed is None:
        out.print("no run failed; nothing to explain")
        return
    print_tree(failed.trace, f"a failed run (seed {failed.seed})")
    first = next((s for s in failed.trace.calls() if not s.ok), None)
    if first is not None:
        cf = counterfactual(failed, repair(first.address))
        out.print(Text(f"\nwhat if {clean(first.address)} had succeeded?", style="bold"))
        out.print(str(cf.diff(failed)), markup=False)
    locus = decisive_error(failed)
    out.print()
    say("decisive error: " + (str(locus) if locus else "none (no single repair fixes this run)"))
    out.print(shapley(failed, players="calls", game="repair"))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning every user error into one line and exit code 2."""
    try:
        code = app(args=argv, standalone_mode=False, prog_name="agentsim")
    except (typer.Abort, KeyboardInterrupt):
        print("agentsim: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, as vendored by typer
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            sys.exit(0)
        message = exc.format_message().strip().splitlines()
        print(f"agentsim: error: {message[0] if message else type(exc).__name__}", file=sys.stderr)
        sys.exit(2)
    except (AgentSimError, ScenarioError) as exc:
        print(clean(f"agentsim: error: {exc}".splitlines()[0]), file=sys.stderr)
        sys.exit(2)
    except OSError as exc:
        print(f"agentsim: error: {clean(exc)}", file=sys.stderr)
        sys.exit(2)
    except RecursionError:
        print("agentsim: error: input nested too deeply to process", file=sys.stderr)
        sys.exit(2)
    if code == 130:  # typer turns Ctrl-C into exit status 130 without a word
        print("agentsim: interrupted", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
