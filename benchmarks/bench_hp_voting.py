"""Halpern-Pearl on majority votes: time and peak memory of the textbook questions.

Each question runs in a fresh child process (so peak memory is its own), with an address-space
cap so that a runaway search fails with MemoryError instead of exhausting the machine:

* is a *yes* voter a cause of the motion passing, and with what responsibility?
* is a *no* voter? (No, under every definition: the vote is monotone, so a no-vote can only
  help the motion fail.)

under the original, updated and modified definitions, for votes from 5-4 up to 11-6 (17
voters). Prints seconds and peak resident memory per question.

Run: ``python benchmarks/bench_hp_voting.py [--cap-mb 2000] [--timeout 120] [YES-NO ...]``;
``--source DIR`` runs the package found in DIR instead (say, an older checkout) for a
before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
yes, no, definition, voter, cap, source = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                           sys.argv[4], int(sys.argv[5]), sys.argv[6])
if source:  # another checkout's package, ahead of an editable install's finder
    sys.path.insert(0, source)
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
resource.setrlimit(resource.RLIMIT_AS, (cap * 2**20, cap * 2**20))
from agentsim.attribution.actual_cause import is_actual_cause, responsibility
from agentsim.worlds.structural import StructuralModel
names = [f"V{i}" for i in range(yes + no)]
equations = {v: None for v in names}
equations["P"] = lambda v: int(sum(v[n] for n in names) > len(names) // 2)
model = StructuralModel(equations, {v: int(i < yes) for i, v in enumerate(names)},
                        {v: [0, 1] for v in [*names, "P"]})
cause = {"V0": 1} if voter == "yes" else {names[-1]: 0}
t0 = time.perf_counter()
try:
    verdict = is_actual_cause(model, cause, {"P": 1}, definition=definition)
    degree = responsibility(model, cause, {"P": 1}, definition=definition)
    answer = f"{verdict} / {degree:.3g}"
except MemoryError:
    answer = "MemoryError"
except Exception as exc:  # the budget's AttributionError, reported as the answer
    answer = type(exc).__name__
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"answer": answer, "seconds": seconds, "peak_mb": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("votes", nargs="*", default=["5-4", "6-5", "7-6", "8-7", "11-6"])
    parser.add_argument("--cap-mb", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--source", default="", help="a folder holding another agentsim/")
    args = parser.parse_args()
    print(
        f"{'vote':>6} {'voter':>5} {'definition':>10} {'answer':>16} {'seconds':>8} {'peak MB':>8}"
    )
    for vote in args.votes:
        yes, no = (int(x) for x in vote.split("-"))
        for voter in ("yes", "no"):
            for definition in ("original", "updated", "modified"):
                t0 = time.perf_counter()
                try:
                    out = subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            CHILD,
                            str(yes),
                            str(no),
                            definition,
                            voter,
                            str(args.cap_mb),
                            args.source,
                        ],
                        capture_output=True,
                        text=True,
                        timeout=args.timeout,
                        check=False,
                    )
                    lines = out.stdout.strip().splitlines()
                    row = (
                        json.loads(lines[-1])
                        if lines
                        else {
                            "answer": "crashed",
                            "seconds": time.perf_counter() - t0,
                            "peak_mb": 0.0,
                        }
                    )
                except subprocess.TimeoutExpired:
                    row = {"answer": "timeout", "seconds": args.timeout, "peak_mb": float("nan")}
                print(
                    f"{vote:>6} {voter:>5} {definition:>10} {row['answer']:>16} "
                    f"{row['seconds']:>8.2f} {row['peak_mb']:>8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
