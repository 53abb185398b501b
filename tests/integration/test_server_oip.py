"""Open Inference Protocol v2 in process: metadata, JSON and binary inference (bodies built by
the real tritonclient), the v2 error shape, and "no 500 for bad input" on every inference route."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.serving import oip
from tests.fixtures.serving import Served, running_app

pytestmark = pytest.mark.anyio


async def test_server_and_model_metadata(served: Served) -> None:
    async with running_app(served.settings) as client:
        h = served.headers()
        server = (await client.get("/v2", headers=h)).json()
        meta = (await client.get("/v2/models/cancer", headers=h)).json()
        pinned = await client.get("/v2/models/cancer/versions/1", headers=h)
        other = await client.get("/v2/models/cancer/versions/7", headers=h)
        ready = await client.get("/v2/models/cancer/ready", headers=h)
        not_ready = await client.get("/v2/models/nope/ready", headers=h)
        live = await client.get("/v2/health/live")
    assert server["name"] == "shipyard" and server["extensions"] == ["binary_tensor_data"]
    assert meta["name"] == "cancer" and meta["versions"] == ["1"]
    assert meta["platform"] == "shipyard_sklearn"
    assert meta["inputs"][0] == {"name": "mean radius", "datatype": "FP64", "shape": [-1]}
    assert [o["name"] for o in meta["outputs"]] == ["predictions", "probabilities"]
    assert meta["outputs"][1]["shape"] == [-1, 2]
    assert pinned.status_code == 200
    assert other.status_code == 422 and "serves version 1" in other.json()["error"]
    assert (ready.status_code, not_ready.status_code) == (200, 404)
    assert live.status_code == 200 and live.content == b""


async def test_json_inference_with_one_matrix_or_one_tensor_per_feature(served: Served) -> None:
    async with running_app(served.settings) as client:
        h = served.headers()
        matrix = {
            "id": "q1",
            "inputs": [
                {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3, 4]]}
            ],
        }
        r = await client.post("/v2/models/sum/infer", json=matrix, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["id"] == "q1" and body["model_name"] == "sum" and body["model_version"] == "1"
        assert body["outputs"][0] == {
            "name": "predictions",
            "shape": [2],
            "datatype": "FP64",
            "data": [3.0, 7.0],
        }
        columns = {
            "inputs": [
                {"name": "b", "shape": [2], "datatype": "INT64", "data": [10, 20]},
                {"name": "a", "shape": [2, 1], "datatype": "FP32", "data": [1, 2]},
            ],
            "outputs": [{"name": "predictions"}],
        }
        r = await client.post("/v2/models/sum/versions/1/infer", json=columns, headers=h)
        assert r.json()["outputs"][0]["data"] == [11.0, 22.0]


async def test_binary_request_built_by_tritonclient(served: Served) -> None:
    import tritonclient.http as triton
    from tritonclient.http._utils import _get_inference_request

    x = np.array([[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    tensor = triton.InferInput("INPUT0", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    outputs = [triton.InferRequestedOutput("predictions", binary_data=True)]
    body, json_size = _get_inference_request(
        [tensor], "r9", outputs, 0, False, False, 0, None, None
    )
    async with running_app(served.settings) as client:
        headers = {**served.headers(), oip.INFERENCE_HEADER: str(json_size)}
        r = await client.post("/v2/models/sum/infer", content=body, headers=headers)
    assert r.status_code == 200, r.text
    length = int(r.headers[oip.INFERENCE_HEADER])
    result = triton.InferResult.from_response_body(r.content, header_length=length)
    np.testing.assert_array_equal(result.as_numpy("predictions"), [3.5, 7.0, 11.0])
    assert result.get_response()["id"] == "r9"


V2_ERRORS = [
    # (body, status, code, phrase)
    (b"not json", 400, "malformed_request", "not valid JSON"),
    ({"inputs": "x"}, 400, "malformed_request", "inputs"),
    ({"inputs": []}, 400, "malformed_request", "'inputs' list"),
    (
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
        422, "invalid_input", "shape [1, 3]",
    ),
    (
        {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "c", "shape": [1], "datatype": "FP64", "data": [1]}]},
        422, "invalid_input", "missing 'b'",
    ),
    (
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]},
        422, "invalid_input", "needs numbers",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code", "phrase"), V2_ERRORS)
async def test_v2_errors_use_the_protocol_shape(
    served: Served, body: object, status: int, code: str, phrase: str
) -> None:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    async with running_app(served.settings) as client:
        r = await client.post("/v2/models/sum/infer", content=content, headers=served.headers())
    assert r.status_code == status, r.text
    error = r.json()
    assert set(error) == {"error", "code"} and error["code"] == code
    assert phrase in error["error"]


async def test_v2_model_failure_is_a_500_without_details(served: Served) -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [-1, 5]}]}
    async with running_app(served.settings) as client:
        r = await client.post("/v2/models/picky/infer", json=body, headers=served.headers())
    assert r.status_code == 500 and r.json()["code"] == "model_error"
    assert "secret internal detail" not in r.text and "request id" in r.json()["error"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
ROW = st.fixed_dictionaries({"a": JSON_VALUES, "b": JSON_VALUES}) | st.lists(
    JSON_VALUES, max_size=3
)
V1_BODIES = JSON_VALUES | st.fixed_dictionaries(
    {"instances": st.lists(ROW, max_size=3) | JSON_VALUES},
    optional={
        "metadata": JSON_VALUES,
        "request_id": JSON_VALUES,
        "return_probabilities": JSON_VALUES,
    },
)
TENSOR = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "x"]) | JSON_VALUES,
        "shape": st.lists(st.integers(-1, 3), max_size=3) | JSON_VALUES,
        "datatype": st.sampled_from(["FP64", "FP32", "INT64", "BOOL", "BYTES", "FP16"])
        | JSON_VALUES,
        "data": JSON_VALUES,
    }
)
V2_BODIES = JSON_VALUES | st.fixed_dictionaries(
    {"inputs": st.lists(TENSOR, max_size=3) | JSON_VALUES},
    optional={"outputs": JSON_VALUES, "parameters": JSON_VALUES, "id": JSON_VALUES},
)


async def test_no_input_makes_a_500(served: Served) -> None:
    """Fuzz every inference route with arbitrary JSON: answers are 200 or a JSON 4xx."""
    async with running_app(served.settings) as client:
        h = served.headers()
        seen: list[tuple[str, int, bytes]] = []

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(v1=V1_BODIES, v2=V2_BODIES)
        def check(v1: object, v2: object) -> None:
            seen.append(("/v1/endpoints/sum/predict", 0, json.dumps(v1).encode()))
            seen.append(("/v2/models/sum/infer", 0, json.dumps(v2).encode()))

        check()
        for path, _, body in seen:
            r = await client.post(path, content=body, headers=h)
            assert r.status_code == 200 or 400 <= r.status_code < 500, (path, body, r.text)
            if r.status_code != 200:
                assert "error" in r.json()
