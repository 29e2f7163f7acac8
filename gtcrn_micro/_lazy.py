"""Package names that load on first use (PEP 562), so that importing a package stays cheap."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_names(package: str, where: dict[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: ``where`` maps a public name to the sub-module it lives in.

    The first look-up imports the sub-module and stores the value in ``namespace`` (the package's
    globals), so later look-ups are ordinary attribute reads. A name that is not in ``where`` but is
    a sub-module of the package (``gm.export``) is imported as such.
    """

    def __getattr__(name: str):
        if name not in where:
            try:  # a sub-module or sub-package (``gm.inference``, ``gm.export``), as an eager import would give
                value = importlib.import_module(f".{name}", package)
            except ModuleNotFoundError as err:
                if err.name != f"{package}.{name}":
                    raise  # the sub-module exists but something it imports does not: say so
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
            namespace[name] = value
            return value
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
