"""The Batcher alone: merging, exact splitting, failure isolation, and the inline fast path."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shipyard.core.errors import ModelError
from shipyard.flavors import Batch
from shipyard.serving.batching import Batcher, InFlight, Outputs

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """Row sums; remembers each call's size and thread, sleeps to let requests pile up."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls: list[tuple[int, str]] = []
        self.pause = pause

    def __call__(self, batch: Batch, want: bool) -> Outputs:
        self.calls.append((len(batch), threading.current_thread().name))
        time.sleep(self.pause)
        values = batch.matrix()
        if (values < 0).any():
            raise ValueError("negative")
        return Outputs(values.sum(axis=1), values if want else None)


def rows(*values: float) -> Batch:
    return Batch.from_matrix(np.array([[v, 1.0] for v in values]), ["a", "b"])


async def test_concurrent_requests_merge_and_split_exactly() -> None:
    model = Recorder(pause=0.02)
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(model, pool, max_batch_size=10)
        results = await asyncio.gather(*(batcher.submit(rows(i, i + 0.5)) for i in range(12)))
    for i, outputs in enumerate(results):
        assert outputs.predictions.tolist() == [i + 1.0, i + 1.5]
        assert outputs.probabilities is None
    assert sum(size for size, _ in model.calls) == 24
    assert max(size for size, _ in model.calls) <= 10  # the bound holds
    assert len(model.calls) < 12


async def test_probabilities_only_for_those_who_asked() -> None:
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(Recorder(pause=0.01), pool)
        plain, wanted = await asyncio.gather(
            batcher.submit(rows(1)), batcher.submit(rows(2), want_probabilities=True)
        )
    assert plain.probabilities is None and wanted.probabilities is not None


async def test_a_failing_request_fails_alone() -> None:
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(Recorder(pause=0.01), pool)
        results = await asyncio.gather(
            *(batcher.submit(rows(v)) for v in (1, 2, -1, 3)), return_exceptions=True
        )
    assert [type(r).__name__ for r in results] == ["Outputs", "Outputs", "ModelError", "Outputs"]
    assert isinstance(results[2], ModelError) and "negative" not in results[2].message


async def test_fast_models_run_on_the_loop_and_slow_ones_on_the_thread() -> None:
    model = Recorder()
    in_flight = InFlight()
    with ThreadPoolExecutor(1, thread_name_prefix="model") as pool:
        batcher = Batcher(model, pool, in_flight=in_flight, inline_below=1.0)
        in_flight.count = 1
        await batcher.submit(rows(1))  # no timing known yet: the thread
        await batcher.submit(rows(2))  # alone and fast: inline
        in_flight.count = 2
        await batcher.submit(rows(3))  # others in flight: queued, then called on the loop
        off = Batcher(model, pool, in_flight=in_flight, inline_below=0.0)
        in_flight.count = 1
        await off.submit(rows(4))
        await off.submit(rows(5))
    main = threading.current_thread().name
    threads = [name for _, name in model.calls]
    assert threads[1] == threads[2] == main
    assert [t.startswith("model") for t in threads] == [True, False, False, True, True]


async def test_fast_model_on_the_loop_still_batches_concurrent_requests() -> None:
    model = Recorder(pause=0.002)
    with ThreadPoolExecutor(1) as pool:
        in_flight = InFlight()
        batcher = Batcher(model, pool, in_flight=in_flight, inline_below=1.0, max_batch_size=8)
        await batcher.submit(rows(0))  # learn that the model is fast
        in_flight.count = 20  # as the data plane counts them
        results = await asyncio.gather(*(batcher.submit(rows(i)) for i in range(20)))
    assert [r.predictions.tolist() for r in results] == [[i + 1.0] for i in range(20)]
    sizes = [size for size, _ in model.calls[1:]]
    assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) <= 4


async def test_inline_failure_is_a_model_error() -> None:
    in_flight = InFlight()
    in_flight.count = 1
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(Recorder(), pool, in_flight=in_flight, inline_below=1.0)
        await batcher.submit(rows(1))
        with pytest.raises(ModelError, match="ValueError"):
            await batcher.submit(rows(-1))
        assert (await batcher.submit(rows(2))).predictions.tolist() == [3.0]
