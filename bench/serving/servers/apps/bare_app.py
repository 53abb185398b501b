"""The bare server: Starlette + orjson calling ``model.predict`` directly.

What a careful engineer writes by hand for one model: no auth, validation, logging or metrics.
The endpoint is ``async def`` and calls ``predict`` on the event loop (no thread pool hop): one
row takes about a millisecond, less than a thread hand-off costs in latency on 2 cores, and each
uvicorn worker then serves one prediction at a time, as a single-threaded model allows anyway.

Body: ``{"instances": [[30 floats]]}``; answer: ``{"predictions": [class]}``.
Run as ``uvicorn bare_app:app --app-dir bench/serving/servers/apps`` with ``BENCH_MODEL`` set.
"""

from __future__ import annotations

import os

import numpy as np
import orjson
import skops.io as sio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_PATH = os.environ["BENCH_MODEL"]
# Our own file, written by the harness a moment ago: trusting its types is safe here.
MODEL = sio.load(_PATH, trusted=sio.get_untrusted_types(file=_PATH))


async def predict(request: Request) -> Response:
    body = orjson.loads(await request.body())
    matrix = np.asarray(body["instances"], dtype=np.float64)
    predictions = MODEL.predict(matrix)
    return Response(
        orjson.dumps({"predictions": predictions.tolist()}), media_type="application/json"
    )


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
