"""Powertools, configured once: the service logger and metrics.

No Tracer here: Powertools' Tracer imports the X-Ray SDK (a third of the app's import
memory) even when tracing is off; a module that traces imports `tracer()` where it is
used, so a cold start without tracing never pays for it."""
from __future__ import annotations

import os

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "calltrack")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Calltrack")

logger = Logger()
metrics = Metrics()


def tracer() -> Any:
    """Powertools' Tracer, created on first use (X-Ray SDK import included)."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer()
    return _tracer


_tracer: Any = None


def count(name: str, value: float = 1) -> None:
    """One operator-facing counter (leases, pool exhaustion, calls by status…)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

