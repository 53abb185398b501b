"""`shipyard serve` options: every bad value is refused with a message naming it."""

from __future__ import annotations

import pytest

from shipyard.core.errors import ConfigurationError
from shipyard.server.options import ServeOptions


@pytest.mark.parametrize(
    ("values", "phrase"),
    [
        ({"role": "sideways"}, "Unknown role 'sideways'; use all, api or inference."),
        ({"max_batch_size": 0}, "max-batch-size must be at least 1."),
        ({"max_body_bytes": 0}, "max-body-bytes must be at least 1."),
        ({"workers": 0}, "workers must be at least 1."),
        ({"cache": {"credit": 0}}, "The size given for 'credit' must be at least 1."),
        ({"model_batch_size": {"credit": 0}}, "The size given for 'credit' must be at least 1."),
        ({"poll_interval": 0}, "poll-interval and log-flush-interval must be positive."),
        ({"max_wait_ms": -1}, "batch-wait-ms and inline-below-ms must be >= 0."),
    ],
)
def test_bad_options_are_refused(values: dict[str, object], phrase: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ServeOptions(**values)  # type: ignore[arg-type]
    assert caught.value.message == phrase


def test_options_travel_to_workers_unchanged() -> None:
    options = ServeOptions(auth=False, workers=3, cache={"a": 5}, model_batch_size={"b": 1})
    assert ServeOptions.from_env({"SHIPYARD_SERVE_OPTIONS": options.to_env()}) == options
    assert ServeOptions.from_env({}) == ServeOptions()
