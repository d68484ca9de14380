"""Atomic file writes: a temporary file in the same folder, then an atomic rename.

Layer: kernel. It imports nothing of the package above the kernel.

An interrupted command leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_lines", "atomic_write_text"]


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> atomic_write_text(p, "hi").read_text()
    'hi'
    """
    return atomic_write_lines(path, [text])


def atomic_write_lines(path: str | os.PathLike[str], chunks: Iterable[str]) -> Path:
    """Write ``chunks`` one after another to ``path`` atomically, without joining them.

    The text goes to a temporary file beside the target, then replaces it in one rename
    (see :func:`atomic_path`).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> atomic_write_lines(p, (f"{i}\\n" for i in range(3))).read_text()
    '0\\n1\\n2\\n'
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(chunk)
    return Path(path)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that wants a file name; it replaces
    ``path`` in one rename when the block ends, and is removed if the block raises.

    A symbolic link is written through (its target is replaced, the link stays); a new file
    gets the permissions the umask allows (``0o666 & ~umask``), an existing one keeps its
    own. Errors name ``path``, never the temporary file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> with atomic_path(p) as tmp:
    ...     _ = tmp.write_bytes(b"hi")
    >>> p.read_bytes()
    b'hi'
    """
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from None
    try:
        # mkstemp's descriptor stays open: the mode is set and the data flushed to disk
        # through it; then the rename, and the folder flushed so that the rename lasts
        yield Path(tmp)
        os.fchmod(fd, mode)
        os.fsync(fd)
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        why = exc.strerror or str(exc) or type(exc).__name__
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {why}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (where the platform lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to fsync a folder; the data itself is flushed
    finally:
        os.close(fd)
