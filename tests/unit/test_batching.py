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
from shipyard.serving.batching import Batcher, Outputs

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
    with ThreadPoolExecutor(1, thread_name_prefix="model") as pool:
        fast = Batcher(model, pool, inline_below=1.0)
        await fast.submit(rows(1))  # no timing known yet: the thread
        await fast.submit(rows(2))  # known to be fast: on the loop
        slow = Batcher(model, pool, inline_below=0.0)
        await slow.submit(rows(3))
        await slow.submit(rows(4))
    main = threading.current_thread().name
    assert [name == main for _, name in model.calls] == [False, True, False, False]


async def test_concurrent_requests_batch_whether_on_the_loop_or_not() -> None:
    """A run of concurrent requests after a quiet period still forms batches (no lock-in)."""
    for inline_below in (1.0, 0.0):
        model = Recorder(pause=0.002)
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(model, pool, inline_below=inline_below, max_batch_size=8)
            for i in range(3):  # a lone client first: one-row calls
                await batcher.submit(rows(i))
            results = await asyncio.gather(*(batcher.submit(rows(i)) for i in range(20)))
        assert [r.predictions.tolist() for r in results] == [[i + 1.0] for i in range(20)]
        sizes = [size for size, _ in model.calls[3:]]
        assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) <= 4, (inline_below, sizes)


async def test_a_call_lingers_for_the_company_the_last_call_had() -> None:
    model = Recorder(pause=0.001)
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(model, pool, max_wait=0.5, max_batch_size=16)
        await asyncio.gather(*(batcher.submit(rows(i)) for i in range(4)))  # last call: 4
        loop = asyncio.get_running_loop()

        async def later(i: int, delay: float) -> Outputs:
            await asyncio.sleep(delay)
            return await batcher.submit(rows(i))

        started = loop.time()
        await asyncio.gather(*(later(i, 0.01 * i) for i in range(4)))  # they trickle in
        waited = loop.time() - started
    assert model.calls[-1][0] == 4  # one call for the four stragglers
    assert waited < 0.4  # it stopped waiting as soon as the fourth arrived


async def test_inline_failure_is_a_model_error() -> None:
    with ThreadPoolExecutor(1) as pool:
        batcher = Batcher(Recorder(), pool, inline_below=1.0)
        await batcher.submit(rows(1))
        with pytest.raises(ModelError, match="ValueError"):
            await batcher.submit(rows(-1))
        assert (await batcher.submit(rows(2))).predictions.tolist() == [3.0]
