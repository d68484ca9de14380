"""Ready-made scenarios, each a module exposing a module-level ``scenario``.

Layer: face (the top). It may import from every layer below it.

``agentsim.scenarios.support_desk``, ``research_assistant`` and ``coding_agent``; the
repository's top-level ``scenarios/`` folder holds thin files that import them, so
``agentsim run scenarios/support_desk.py`` works from a clone.
"""
