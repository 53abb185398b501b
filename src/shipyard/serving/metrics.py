"""Prometheus metrics of one server instance, in a registry the instance owns.

No process-global collectors: tests run many apps in one process without cross-talk. With
several worker processes, ``ServingMetrics(multiprocess_dir=…)`` uses prometheus-client's
multiprocess mode so any worker's ``/metrics`` answers for all of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServingMetrics:
    """Counters and histograms of the data plane (names are the public contract)."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiprocess_dir = multiprocess_dir
        r = self.registry
        self.requests = Counter(
            "shipyard_requests",
            "Inference requests answered, by endpoint, version, protocol and HTTP status.",
            ["endpoint", "model", "version", "protocol", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "shipyard_request_latency_seconds",
            "Time from request parsed to answer ready, by endpoint and version.",
            ["endpoint", "model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows",
            "Rows per model call (micro-batching merges concurrent requests).",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "shipyard_batch_requests",
            "Requests merged into one model call.",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "shipyard_batch_queue_depth",
            "Requests waiting for the next model call.",
            ["model", "version"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.model_load_seconds = Histogram(
            "shipyard_model_load_seconds",
            "Time to fetch, verify and load a model version.",
            ["model", "version"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.model_load_failures = Counter(
            "shipyard_model_load_failures",
            "Versions that failed to load or verify (they never replace the serving one).",
            ["model", "version"],
            registry=r,
        )
        self.serving_version = Gauge(
            "shipyard_serving_version",
            "The version each endpoint serves.",
            ["endpoint"],
            registry=r,
            multiprocess_mode="max",
        )
        self.log_written = Counter(
            "shipyard_prediction_log_rows_written",
            "Prediction rows written to the Parquet log.",
            registry=r,
        )
        self.log_dropped = Counter(
            "shipyard_prediction_log_rows_dropped",
            "Prediction records dropped (log queue full or write failed).",
            registry=r,
        )
        self.shadow_dropped = Counter(
            "shipyard_shadow_dropped",
            "Copies of requests not sent to shadow versions because too many were in flight.",
            ["endpoint"],
            registry=r,
        )
        self.rollout_rollbacks = Counter(
            "shipyard_rollout_rollbacks",
            "Automated rollouts rolled back by the controller (alert on any increase).",
            ["endpoint"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "shipyard_response_cache_lookups",
            "Response cache lookups, by endpoint and result (hit or miss).",
            ["endpoint", "result"],
            registry=r,
        )

        # Monitoring gauges: set by the server's monitoring pass (one worker at a time holds
        # the lease), so in multiprocess mode the most recent value of any worker is the truth.
        self.drift_score = Gauge(
            "shipyard_drift_score",
            "Drift statistic per column over the monitoring window (p-value or distance).",
            ["endpoint", "version", "column", "method"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.drift_detected = Gauge(
            "shipyard_drift_detected",
            "1 when the column drifted in the monitoring window, 0 when stable.",
            ["endpoint", "version", "column"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.drift_share = Gauge(
            "shipyard_drift_share",
            "Share of tested columns that drifted in the monitoring window.",
            ["endpoint", "version"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.dataset_drift = Gauge(
            "shipyard_dataset_drift",
            "1 when the drift share reached the dataset-drift threshold, else 0.",
            ["endpoint", "version"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.model_performance = Gauge(
            "shipyard_model_performance",
            "Performance from late ground truth over the monitoring window, by metric.",
            ["endpoint", "version", "metric"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.label_coverage = Gauge(
            "shipyard_label_coverage",
            "Share of the window's predictions that have ground truth.",
            ["endpoint", "version"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.fairness_gap = Gauge(
            "shipyard_fairness_gap",
            "Fairness difference or ratio across groups of a sensitive attribute.",
            ["endpoint", "version", "sensitive", "metric"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.monitoring_rows = Gauge(
            "shipyard_monitoring_window_rows",
            "Predictions in the monitoring window.",
            ["endpoint", "version"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.monitoring_last_run = Gauge(
            "shipyard_monitoring_last_run_timestamp_seconds",
            "When the monitoring pass last finished for the endpoint (Unix time).",
            ["endpoint"],
            registry=r,
            multiprocess_mode="max",
        )
        self.monitoring_passes = Counter(
            "shipyard_monitoring_passes",
            "Monitoring passes by outcome: ran, standby (another worker holds the lease), failed.",
            ["outcome"],
            registry=r,
        )
        self.alerts_firing = Gauge(
            "shipyard_alerts_firing",
            "1 while an alert rule is breached, else 0.",
            ["endpoint", "rule", "metric"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.alert_notifications = Counter(
            "shipyard_alert_notifications",
            "Alert notifications attempted, by target kind and outcome (delivered or failed).",
            ["kind", "outcome"],
            registry=r,
        )

    def retire(self, gauge: Gauge, labels: tuple[str, ...]) -> None:
        """Stop exporting one labelled series of ``gauge`` (e.g. a version no longer served).

        In multiprocess mode a removed series would live on in the worker's file, so it is set
        to NaN instead: comparisons with NaN are false, so no alert rule keeps firing on it.
        """
        if self._multiprocess_dir is None:
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)
        else:
            gauge.labels(*labels).set(float("nan"))

    def render(self) -> bytes:
        """The exposition text for a scrape."""
        return generate_latest(self._source())

    def collect(self) -> Iterable[Metric]:
        """Every metric family with its samples (all workers' in multiprocess mode)."""
        return self._source().collect()

    def _source(self) -> CollectorRegistry:
        if self._multiprocess_dir is None:
            return self.registry
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
        return merged
