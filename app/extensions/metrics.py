"""`/metrics` in the Prometheus text format: requests, open streams, event lag, scheduler runs.

Off unless PARLEY_METRICS_TOKEN is set; then `GET /metrics` answers only a request bearing that
token, so turning metrics on cannot publish them by accident. It is a plain Flask route, outside
the API and its OpenAPI document: an operator's scrape endpoint, not something clients call.

Under gunicorn every worker counts on its own; `gunicorn.conf.py` gives them one
PROMETHEUS_MULTIPROC_DIR, where prometheus_client keeps each worker's values in a memory-mapped
file, and a scrape, whichever worker answers it, adds them all up. In a single process (the
development server, tests) each application keeps its own registry.

Recording a request is one dictionary lookup and one histogram observation in an after-request
hook (the start time is the one request logging takes): no work at all while metrics are off.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, request

from .errors import abort
from .logging import request_started

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Event lag is seconds: commits reach streams in milliseconds, unless something is wrong.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    """This application's metric families, and the request histogram's children by label values."""

    registry: Any  # prometheus_client.CollectorRegistry; None: collect from PROMETHEUS_MULTIPROC_DIR
    requests: Any
    streams: Any
    event_lag: Any
    job_runs: Any
    _observers: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    last_lagged: int = 0  # the newest event whose lag this process has observed

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        observe = self._observers.get(key)
        if observe is None:
            observe = self._observers[key] = self.requests.labels(method, route, str(status)).observe
        observe(seconds)

    def event_delivered(self, event_id: int, written_at: float) -> None:
        """The lag of a stored event to the first stream of this process that sends it live.

        Once per event and process, not per stream: with thousands of streams the histogram would
        cost more than the frames. Events reach a process's streams in id order, so the first
        stream to send an event is the first to pass its id; the others follow within milliseconds.
        `written_at` is the event's created_at as a Unix time.
        """
        if event_id > self.last_lagged:
            self.last_lagged = event_id
            self.event_lag.observe(max(0.0, time.time() - written_at))

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = self.registry
        if registry is None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        return generate_latest(registry)


def init_app(app: Flask) -> None:
    app.extensions["parley.metrics"] = None
    if not app.config["METRICS_TOKEN"]:
        return
    metrics = app.extensions["parley.metrics"] = _create()

    @app.after_request
    def count_request(response: Response) -> Response:
        """Per URL rule, never the raw path: ids in paths would make a series per room."""
        rule = request.url_rule
        started = request_started()
        if started is not None:
            route = rule.rule if rule is not None else "<unmatched>"
            metrics.observe_request(
                request.method, route, response.status_code, time.perf_counter() - started
            )
        return response

    app.add_url_rule("/metrics", "metrics", _scrape)


def _create() -> Metrics:
    """prometheus_client is imported only here: without metrics, nothing of it is loaded."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    shared = bool(os.environ.get(MULTIPROC_DIR))
    registry = None if shared else CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=registry,
        requests=Histogram(
            "parley_http_request_duration_seconds",
            "Time to answer a request, by method, URL rule and status (its _count: the requests).",
            ["method", "route", "status"],
            registry=registry,
        ),
        streams=Gauge(
            "parley_event_streams_open",
            "Event streams (GET /api/v1/events) open now.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        event_lag=Histogram(
            "parley_event_lag_seconds",
            "From an event's write (stamped at flush, just before its commit) to its frame on a live stream.",
            buckets=LAG_BUCKETS,
            registry=registry,
        ),
        job_runs=Counter(
            "parley_scheduler_job_runs",
            "Scheduler job runs by job and outcome (ok, failed).",
            ["job", "outcome"],
            registry=registry,
        ),
    )


def _scrape() -> Response:
    """The bearer token compared in constant time; 401 without it, whatever else is sent."""
    expected = current_app.config["METRICS_TOKEN"]
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), expected.encode()):
        message = "Send the metrics token: Authorization: Bearer <PARLEY_METRICS_TOKEN>."
        abort(401, message, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    from prometheus_client import CONTENT_TYPE_LATEST

    metrics: Metrics = current_app.extensions["parley.metrics"]
    return Response(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _metrics() -> Metrics | None:
    return current_app.extensions.get("parley.metrics")


def stream_opened() -> None:
    if (metrics := _metrics()) is not None:
        metrics.streams.inc()


def stream_closed() -> None:
    if (metrics := _metrics()) is not None:
        metrics.streams.dec()


def lag_observer() -> Callable[[int, float], None] | None:
    """What a stream calls with each stored event it sends live; None while metrics are off.

    Looked up once per stream: per frame, even finding out that metrics are off cost a
    twentieth of a delivery.
    """
    metrics = _metrics()
    return None if metrics is None else metrics.event_delivered


def job_ran(name: str, *, failed: bool) -> None:
    if (metrics := _metrics()) is not None:
        metrics.job_runs.labels(name, "failed" if failed else "ok").inc()
