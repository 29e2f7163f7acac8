"""Package names that load on first use (PEP 562), so that importing a package stays cheap."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_names(package: str, where: dict[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: ``where`` maps a public name to the sub-module it lives in.

    The first look-up imports the sub-module and stores the value in ``namespace`` (the package's
    globals), so later look-ups are ordinary attribute reads.
    """

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
