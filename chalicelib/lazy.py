"""Modules imported where they are first used, not when `app` is imported.

Every Lambda function of the stack (the API, each stream and queue consumer, the sweeper)
imports the whole Chalice app; a route module names its domain modules with `lazy(...)`,
so a cold start pays for the routes and only the first request of a kind pays for what
that kind needs (a lease never loads reports, a queue consumer never loads the admin API).

    service = lazy("chalicelib.reports.service")
    ...
    def report(): return service.report(...)      # imported here, once, thread-safely

The import itself is `importlib.import_module` (the import system's own per-module locks),
so concurrent first requests see one fully executed module.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Optional


class LazyModule:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self) -> ModuleType:
        module: Optional[ModuleType] = self._module
        if module is None:
            module = importlib.import_module(self._name)
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __setattr__(self, attr: str, value: Any) -> None:   # tests patch through the name
        setattr(self._load(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module is not None else ''}>"


def lazy(name: str) -> Any:
    """The module `name`, imported on first attribute access (typed as Any for callers)."""
    return LazyModule(name)
