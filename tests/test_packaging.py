"""Packaging: the license ships, the scenarios install inside agentsim, extras and pins."""

from __future__ import annotations

import importlib
import runpy
import sys
import tomllib
from pathlib import Path

import pytest

import agentsim as asim

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_declared_license_ships_as_a_file() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_no_top_level_scenarios_package_is_installed() -> None:
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["agentsim*"]


@pytest.mark.parametrize("name", ["support_desk", "research_assistant", "coding_agent"])
def test_ready_made_scenarios_live_in_agentsim_and_the_folder_still_runs(name: str) -> None:
    packaged = importlib.import_module(f"agentsim.scenarios.{name}").scenario
    assert isinstance(packaged, asim.Scenario)
    by_path = runpy.run_path(str(ROOT / "scenarios" / f"{name}.py"))["scenario"]
    assert by_path is packaged


def test_ruff_and_mypy_are_pinned_exactly() -> None:
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("ruff==") for d in dev)
    assert any(d.startswith("mypy==") for d in dev)


def test_pandas_is_an_extra_and_its_absence_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert any(
        d.startswith("pandas") for d in PYPROJECT["project"]["optional-dependencies"]["pandas"]
    )
    sc = asim.Scenario("p")
    t = sc.tool("t", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(3, seed=0)
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"Batch.to_pandas needs pandas.*agentsim\[pandas\]"):
        batch.to_pandas()
    with pytest.raises(ImportError, match=r"Attribution.to_pandas needs pandas"):
        asim.shapley(batch[0]).to_pandas()


def test_make_demo_needs_only_the_runtime_dependencies() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n", 1)[0]
    assert "$(RUNTIME)" in demo and "$(STAMP)" not in demo
    assert "pip install --quiet -e .\n" in makefile  # no [dev] for the runtime stamp
    assert "\ntest-min:" in makefile
