"""Atomic writes keep the manners of a plain write: umask, symlinks, the target's name."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentsim._io import atomic_write_lines, atomic_write_text


def test_new_file_gets_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    p.write_text("old")
    p.chmod(0o640)
    atomic_write_text(p, "new")
    assert (p.read_text(), stat.S_IMODE(p.stat().st_mode)) == ("new", 0o640)


def test_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_unwritable_target_error_names_the_target(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere: use a path under a file instead
        blocker = tmp_path / "file"
        blocker.write_text("")
        target = blocker / "out.json"
    else:  # pragma: no cover - CI runs as root
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        target = ro / "out.json"
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "x")
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)


def test_lines_are_streamed_from_an_iterator(tmp_path: Path) -> None:
    seen = []

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(3):
            seen.append(i)
            yield f"{i}\n"

    p = atomic_write_lines(tmp_path / "x.jsonl", chunks())
    assert p.read_text() == "0\n1\n2\n" and seen == [0, 1, 2]
