"""Adaptive micro-batching: concurrent requests to one loaded version share one ``predict`` call.

An idle batcher calls the model at once (no waiting for company, so a lone client pays nothing);
requests that arrive while a call is running queue up and go together in the next call, up to
``max_batch_size`` rows. While traffic is concurrent (the last call was shared), a call lingers
up to ``max_wait`` for as many requests as the last one served. A slow model's calls run on a
worker thread so the event loop stays free. A fast model's calls (below ``inline_below``) run
on the event loop itself: a thread would fight the loop for the GIL, so requests would be parsed
more slowly and batches would stay small; on the loop, the requests that arrive during one call
all join the next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from shipyard.core.errors import ModelError, ShipyardError
from shipyard.flavors import Batch


@dataclass(frozen=True, slots=True)
class Outputs:
    """What one model call produced for a batch (rows aligned with its input)."""

    predictions: np.ndarray
    probabilities: np.ndarray | None


Runner = Callable[[Batch, bool], Outputs]
"""Calls the model: ``(batch, want_probabilities) -> Outputs``; runs on a worker thread."""


@dataclass(slots=True)
class _Pending:
    batch: Batch
    want_probabilities: bool
    future: asyncio.Future[Outputs]


class Batcher:
    """Merges concurrent requests for one model version into batched model calls.

    Args:
        run: The model call (see ``Runner``).
        executor: Where model calls run (one thread is enough: calls are serialised).
        max_batch_size: Most rows merged into one call (a larger single request runs alone).
        max_wait: Seconds a call may linger for company when the last call was shared; 0 = never.
        on_batch: Called with (rows, requests) after each model call, for metrics.
        on_depth: Called with the number of waiting requests whenever it changes.
        inline_below: Calls of a model whose recent calls took less than this many seconds run
            on the event loop (0 = always on the worker thread).
    """

    def __init__(
        self,
        run: Runner,
        executor: Executor,
        *,
        max_batch_size: int = 64,
        max_wait: float = 0.0,
        on_batch: Callable[[int, int], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
        inline_below: float = 0.0,
    ) -> None:
        self._run = run
        self._executor = executor
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self._on_batch = on_batch
        self._on_depth = on_depth
        self._queue: list[_Pending] = []
        self._busy = False
        self._last_size = 0  # requests served by the last model call
        self._enough: asyncio.Future[None] | None = None  # resolved when a lingering call is full
        self._enough_at = 0
        self._drainer: asyncio.Task[None] | None = None
        self._inline_below = inline_below
        self._call_seconds: float | None = None  # moving average of model calls

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the next model call."""
        return len(self._queue)

    async def submit(self, batch: Batch, *, want_probabilities: bool = False) -> Outputs:
        """The model's outputs for ``batch`` (rows in order).

        Raises:
            ModelError: the model raised for this request's rows.
            ShipyardError: a user-facing error the predictor raised (e.g. no probabilities).
        """
        loop = asyncio.get_running_loop()
        pending = _Pending(batch, want_probabilities, loop.create_future())
        self._queue.append(pending)
        if self._enough is not None and len(self._queue) >= self._enough_at:
            _resolve(self._enough)
        if not self._busy:
            self._busy = True
            self._drainer = loop.create_task(self._drain())  # kept: tasks are weakly held
        return await pending.future

    def _is_fast(self) -> bool:
        return self._call_seconds is not None and self._call_seconds < self._inline_below

    def _observe(self, seconds: float) -> None:
        previous = self._call_seconds
        self._call_seconds = seconds if previous is None else 0.8 * previous + 0.2 * seconds

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                if self.max_wait > 0 and self._last_size > 1:
                    await self._linger(loop, self._last_size)
                elif self._is_fast():
                    await self._gather_arrivals()
                group = self._take()
                self._last_size = len(group)
                await self._call(loop, group)
        finally:
            self._busy = False

    async def _gather_arrivals(self) -> None:
        """Yield to the loop while that brings more requests (free when none are coming)."""
        while self._rows_queued() < self.max_batch_size:
            queued = len(self._queue)
            await asyncio.sleep(0)
            if len(self._queue) == queued:
                return

    async def _linger(self, loop: asyncio.AbstractEventLoop, expected: int) -> None:
        """Wait up to ``max_wait`` for as many requests as the last call served.

        Under steady concurrent load the clients answered by the last call come back together;
        waiting for them turns one-row calls into full batches. When the load stops, this costs
        one ``max_wait`` once: the next call serves one request, and lone requests then go
        straight through again.
        """
        self._enough_at = min(expected, self.max_batch_size)
        if len(self._queue) >= self._enough_at:
            return
        enough: asyncio.Future[None] = loop.create_future()
        self._enough = enough
        timer = loop.call_later(self.max_wait, _resolve, enough)
        try:
            await enough
        finally:
            timer.cancel()
            self._enough = None

    def _rows_queued(self) -> int:
        return sum(len(p.batch) for p in self._queue)

    def _take(self) -> list[_Pending]:
        group = [self._queue[0]]
        rows = len(group[0].batch)
        index = 1
        while index < len(self._queue):
            size = len(self._queue[index].batch)
            if rows + size > self.max_batch_size:
                break
            group.append(self._queue[index])
            rows += size
            index += 1
        del self._queue[:index]
        if self._on_depth is not None:
            self._on_depth(len(self._queue))
        return group

    async def _call(self, loop: asyncio.AbstractEventLoop, group: list[_Pending]) -> None:
        group = [p for p in group if not p.future.done()]  # cancelled by a gone client
        if not group:
            return
        want = any(p.want_probabilities for p in group)
        merged = group[0].batch if len(group) == 1 else Batch.concat([p.batch for p in group])
        started = time.perf_counter()
        try:
            if self._is_fast():
                outputs = self._run(merged, want)  # on the loop: see the module docstring
            else:
                outputs = await loop.run_in_executor(self._executor, self._run, merged, want)
            _check_rows(outputs, len(merged))
            self._observe(time.perf_counter() - started)
        except Exception as exc:  # reported per request, never lost
            if len(group) > 1:
                # One bad request must not fail the others merged with it: retry each alone.
                for pending in group:
                    await self._call(loop, [pending])
                return
            _settle_error(group[0], exc)
            return
        if self._on_batch is not None:
            self._on_batch(len(merged), len(group))
        start = 0
        for pending in group:
            stop = start + len(pending.batch)
            if not pending.future.done():
                proba = outputs.probabilities
                pending.future.set_result(
                    Outputs(
                        outputs.predictions[start:stop],
                        proba[start:stop]
                        if proba is not None and pending.want_probabilities
                        else None,
                    )
                )
            start = stop


def _check_rows(outputs: Outputs, rows: int) -> None:
    if len(outputs.predictions) != rows:
        raise ModelError(
            f"The model returned {len(outputs.predictions)} predictions for {rows} rows."
        )


def _settle_error(pending: _Pending, exc: Exception) -> None:
    if pending.future.done():
        return
    if isinstance(exc, ShipyardError):
        pending.future.set_exception(exc)
    else:
        error = _model_error(exc)
        error.__cause__ = exc
        pending.future.set_exception(error)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _model_error(exc: Exception) -> ModelError:
    return ModelError(f"The model failed on this request: {type(exc).__name__}.")
