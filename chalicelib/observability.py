"""Powertools, configured once: the service logger, metrics and tracer."""
from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "calltrack")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Calltrack")

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def count(name: str, value: float = 1) -> None:
    """One operator-facing counter (leases, pool exhaustion, calls by status…)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

