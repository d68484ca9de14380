"""Optional dependencies: import them where needed, or say which extra installs them.

Layer: kernel. It imports nothing of the package above the kernel.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

EXTRAS = {"pandas": "pandas", "pyarrow": "arrow", "dask": "dask"}
"""Module -> the agentsim extra that installs it."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise an ImportError naming the extra.

    >>> require("math", "sqrt").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.partition(".")[0]  # pyarrow.parquet comes with pyarrow
        extra = EXTRAS.get(package, package)
        raise ImportError(
            f"{feature} needs {package}, which is not installed: pip install "
            f"'agentsim[{extra}]' (or pip install {package})"
        ) from None
