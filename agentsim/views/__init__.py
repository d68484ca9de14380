"""What a person sees: terminal trees and tables, plotly charts, the offline HTML report,
and the rich HTML shown by objects in notebooks (``_repr_html_``).

Layer: face (the top). It may import from every layer below it.
"""

from __future__ import annotations

from agentsim.views import snippets as snippets  # registers the notebook renderers
from agentsim.views.page import render, report

__all__ = ["render", "report"]
