"""Rich display hooks: classes forward ``_repr_html_`` here; the views layer registers renderers.

Low-level classes (``Trace``, ``Run``...) must not import the views that draw them, so the
views register a renderer per class name when ``agentsim`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["html_of", "register_html"]

_RENDERERS: dict[str, Callable[[Any], str]] = {}


def register_html(class_name: str, render: Callable[[Any], str]) -> None:
    """Draw instances of the class named ``class_name`` with ``render`` in notebooks."""
    _RENDERERS[class_name] = render


def html_of(obj: Any) -> str | None:
    """The HTML of ``obj`` from its registered renderer, or ``None`` (plain repr is used).

    >>> html_of(object()) is None
    True
    """
    render = _RENDERERS.get(type(obj).__name__)
    return None if render is None else render(obj)
