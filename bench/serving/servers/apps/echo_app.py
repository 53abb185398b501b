"""The echo server: the HTTP + JSON floor on this machine, no model.

Same stack as the bare server (uvicorn + Starlette + orjson) and the same body; it parses the
body and answers a constant, so the difference to the bare server is the model's own cost.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = orjson.dumps({"predictions": [0]})


async def predict(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(ANSWER, media_type="application/json")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
