"""Alert plain types: durations that survive the trip through text, redaction, comparisons."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.alerts import Comparison, redact_target
from shipyard.core.durations import format_seconds, parse_duration
from shipyard.monitoring.notify import RetryPolicy, post_webhook


@given(st.floats(min_value=0.001, max_value=90 * 86400.0))
def test_a_window_formatted_as_text_parses_back_to_itself(seconds: float) -> None:
    assert parse_duration(format_seconds(seconds)) == pytest.approx(seconds, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "1h"), (86400 * 2, "2d"), (90, "90s"), (1234567, "1234567s"), (0.5, "0.5s")],
)
def test_windows_read_as_people_write_them(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_redaction_keeps_scheme_and_host_only() -> None:
    url = "https://user:secret@hooks.example.com:8443/services/T000/B000/XXXX?token=abc"
    assert redact_target("webhook", url) == "https://hooks.example.com:8443/…"
    assert redact_target("command", "/opt/retrain --token abc") == "(command)"


def test_the_threshold_itself_breaches() -> None:
    assert Comparison.ABOVE.breached(0.5, 0.5) and not Comparison.ABOVE.breached(0.49, 0.5)
    assert Comparison.BELOW.breached(0.9, 0.9) and not Comparison.BELOW.breached(0.91, 0.9)


def test_a_stop_ends_the_retries_of_a_dead_webhook_at_once() -> None:
    class Down(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    try:
        outcome = post_webhook(
            f"http://127.0.0.1:{server.server_address[1]}/",
            b"{}",
            policy=RetryPolicy(attempts=4, timeout=1.0, backoff=10.0),
            stop=stop,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started < 3  # not the 10 + 20 + 30 s of back-off
    assert outcome.delivered is False and outcome.attempts == 1
    assert outcome.error == "HTTP 503 Service Unavailable; then stopped: shutting down"
