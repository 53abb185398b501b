"""OIP v2 bodies: decoding what the real tritonclient sends, encoding what it can read back."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import orjson
import pytest
import tritonclient.http as triton
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tritonclient.http._utils import _get_inference_request

from shipyard.core.errors import MalformedRequestError
from shipyard.serving import oip
from shipyard.serving.oip import (
    INFERENCE_HEADER,
    InferenceRequest,
    RequestedOutput,
    Tensor,
    datatype_of,
    decode_request,
    encode_response,
    numpy_dtype,
)

# One 2x3 array per datatype, with each type's extreme values where it has them.
ARRAYS: dict[str, np.ndarray] = {
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "UINT8": np.array([[0, 1, 255], [7, 8, 9]], dtype=np.uint8),
    "UINT16": np.array([[0, 1, 65535], [7, 8, 9]], dtype=np.uint16),
    "UINT32": np.array([[0, 1, 2**32 - 1], [7, 8, 9]], dtype=np.uint32),
    "UINT64": np.array([[0, 1, 2**64 - 1], [7, 8, 9]], dtype=np.uint64),
    "INT8": np.array([[-128, 0, 127], [-1, 2, 3]], dtype=np.int8),
    "INT16": np.array([[-(2**15), 0, 2**15 - 1], [-1, 2, 3]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 0, 2**31 - 1], [-1, 2, 3]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 0, 2**63 - 1], [-1, 2, 3]], dtype=np.int64),
    "FP16": np.array([[0.5, -1.0, 65504.0], [6e-8, 0.0, -0.1]], dtype=np.float16),
    "FP32": np.array([[1.5, -0.0, 3.4e38], [1e-45, 0.1, -2.5]], dtype=np.float32),
    "FP64": np.array([[1e308, 5e-324, 0.1], [-2.5, 0.0, 1 / 3]], dtype=np.float64),
    "BYTES": np.array(
        [[b"a", b"", "\u00e9".encode()], [b"x y", b"\n", b"long" * 50]], dtype=object
    ),
}
# Bytes that are not UTF-8 only travel in binary (tritonclient refuses them as JSON).
RAW_BYTES = np.array([b"\x00\xff", b"", b"\x80abc"], dtype=object)
JSON_DATATYPES = [datatype for datatype in ARRAYS if datatype != "FP16"]


def triton_input(name: str, array: np.ndarray, *, binary: bool = True) -> triton.InferInput:
    datatype = "BYTES" if array.dtype == object else datatype_of(array)
    infer_input = triton.InferInput(name, list(array.shape), datatype)
    infer_input.set_data_from_numpy(array, binary_data=binary)
    return infer_input


def triton_body(
    inputs: list[triton.InferInput],
    outputs: list[triton.InferRequestedOutput] | None = None,
    *,
    request_id: str = "",
    **extra: Any,
) -> tuple[bytes, int | None]:
    """The body and header length exactly as tritonclient's InferenceServerClient.infer sends."""
    options: dict[str, Any] = {
        "sequence_id": 0,
        "sequence_start": False,
        "sequence_end": False,
        "priority": 0,
        "timeout": None,
        "custom_parameters": None,
    }
    options.update(extra)
    return _get_inference_request(inputs=inputs, request_id=request_id, outputs=outputs, **options)


def triton_result(body: bytes, headers: dict[str, str]) -> triton.InferResult:
    length = headers.get(INFERENCE_HEADER)
    return triton.InferResult.from_response_body(
        body, header_length=None if length is None else int(length)
    )


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    if expected.dtype == object:
        assert actual.tolist() == expected.tolist()
    else:
        np.testing.assert_array_equal(actual, expected, strict=True)


def assert_read_back(actual: np.ndarray, expected: np.ndarray) -> None:
    """As `assert_same`, but tritonclient's as_numpy gives float64 for every empty output."""
    if expected.size == 0:
        assert actual.shape == expected.shape
    else:
        assert_same(actual, expected)


def json_body(**doc: Any) -> bytes:
    return orjson.dumps(doc)


def one_input(**fields: Any) -> bytes:
    tensor = {"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0, 2.0]} | fields
    return json_body(inputs=[tensor])


# -- requests from tritonclient ---------------------------------------------------------------


@pytest.mark.parametrize("datatype", list(ARRAYS))
def test_tritonclient_binary_inputs_decode_exactly(datatype: str) -> None:
    array = ARRAYS[datatype]
    body, length = triton_body([triton_input("x", array)])
    assert length is not None  # tritonclient's default is binary: the header is needed

    request = decode_request(body, length)

    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, (2, 3))
    assert tensor.parameters == {}  # binary_data_size is transport, not the model's business
    assert_same(tensor.data, array)
    assert tensor.data.flags.writeable
    assert tensor.data.flags.aligned


def test_tritonclient_binary_bytes_need_not_be_utf8() -> None:
    body, length = triton_body([triton_input("raw", RAW_BYTES)])
    assert_same(decode_request(body, length).inputs[0].data, RAW_BYTES)


@pytest.mark.parametrize("datatype", JSON_DATATYPES)
def test_tritonclient_json_inputs_decode_exactly(datatype: str) -> None:
    array = ARRAYS[datatype]
    body, length = triton_body([triton_input("x", array, binary=False)])
    assert length is None

    tensor = decode_request(body, length).inputs[0]

    assert_same(tensor.data, array)


def test_tritonclient_fp16_as_json_is_refused_like_triton_does() -> None:
    body, length = triton_body([triton_input("half", ARRAYS["FP16"], binary=False)])
    with pytest.raises(MalformedRequestError, match="only accepted as binary"):
        decode_request(body, length)


def test_tritonclient_mixed_inputs_outputs_and_parameters() -> None:
    inputs = [
        triton_input("a", ARRAYS["FP32"]),
        triton_input("b", ARRAYS["INT64"], binary=False),
        triton_input("c", ARRAYS["BYTES"]),
    ]
    outputs = [
        triton.InferRequestedOutput("label", binary_data=False),
        triton.InferRequestedOutput("proba"),
    ]
    body, length = triton_body(
        inputs,
        outputs,
        request_id="req-7",
        sequence_id=3,
        priority=2,
        custom_parameters={"tenant": "acme"},
    )

    request = decode_request(body, length)

    assert request.id == "req-7"
    assert [t.name for t in request.inputs] == ["a", "b", "c"]
    for tensor, array in zip(
        request.inputs, [ARRAYS["FP32"], ARRAYS["INT64"], ARRAYS["BYTES"]], strict=True
    ):
        assert_same(tensor.data, array)
    assert request.outputs == [
        RequestedOutput("label", False, {"binary_data": False}),
        RequestedOutput("proba", True, {"binary_data": True}),
    ]
    assert request.binary_output is False  # tritonclient sets it only when no outputs are named
    assert request.parameters["tenant"] == "acme"
    assert request.parameters["sequence_id"] == 3
    assert request.parameters["priority"] == 2


def test_tritonclient_without_outputs_asks_for_all_outputs_binary() -> None:
    body, length = triton_body([triton_input("x", ARRAYS["FP32"])])
    request = decode_request(body, length)
    assert request.outputs is None
    assert request.binary_output is True
    assert request.id is None


def test_empty_tensors() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)
    no_strings = np.empty((2, 0), dtype=object)
    body, length = triton_body([triton_input("e", empty), triton_input("s", no_strings)])
    request = decode_request(body, length)
    assert_same(request.inputs[0].data, empty)
    assert_same(request.inputs[1].data, no_strings)


# -- plain JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [[1, 2, 3, 4, 5, 6], [[1, 2, 3], [4, 5, 6]]], ids=["flat", "nested"]
)
def test_json_flat_and_nested_data_decode_the_same(data: list[Any]) -> None:
    body = json_body(inputs=[{"name": "x", "shape": [2, 3], "datatype": "INT32", "data": data}])
    tensor = decode_request(body, None).inputs[0]
    assert_same(tensor.data, np.arange(1, 7, dtype=np.int32).reshape(2, 3))


def test_json_scalar_shape_and_integers_for_floats() -> None:
    body = json_body(inputs=[{"name": "x", "shape": [], "datatype": "FP64", "data": [3]}])
    assert_same(decode_request(body, None).inputs[0].data, np.array(3.0))


def test_json_request_options() -> None:
    body = json_body(
        id="42",
        parameters={"binary_data_output": True},
        inputs=[{"name": "x", "shape": [1], "datatype": "BOOL", "data": [True], "parameters": {}}],
        outputs=[{"name": "y", "parameters": {"binary_data": False}}, {"name": "z"}],
    )
    request = decode_request(body, None)
    assert request.id == "42"
    assert [(o.name, o.binary) for o in request.outputs or []] == [("y", False), ("z", True)]


def test_header_length_equal_to_body_means_json_only() -> None:
    body = one_input()
    assert decode_request(body, len(body)).inputs[0].data.tolist() == [1.0, 2.0]


# -- errors ------------------------------------------------------------------------------------


def _bin_request(datatype: str, shape: list[int], size: int, payload: bytes) -> tuple[bytes, int]:
    header = json_body(
        inputs=[
            {
                "name": "x",
                "shape": shape,
                "datatype": datatype,
                "parameters": {"binary_data_size": size},
            }
        ]
    )
    return header + payload, len(header)


def _triton_fp32() -> tuple[bytes, int]:
    body, length = triton_body([triton_input("x", ARRAYS["FP32"])])
    assert length is not None
    return body, length


def _triton_wrong_shape() -> tuple[bytes, int | None]:
    # tritonclient checks the shape in set_data_from_numpy but not in a later set_shape().
    infer_input = triton_input("x", ARRAYS["FP32"]).set_shape([2, 2])
    return triton_body([infer_input])


def _with_header(body: bytes, binary_size: int) -> tuple[bytes, int]:
    return body, len(body) - binary_size


def _truncated() -> tuple[bytes, int]:
    body, length = _triton_fp32()
    return body[:-4], length


def _trailing() -> tuple[bytes, int]:
    body, length = _triton_fp32()
    return body + b"\x00", length


ERROR_CASES: dict[str, tuple[tuple[bytes, int | None], str]] = {
    "malformed json": ((b'{"inputs": [', None), "not valid JSON"),
    "not utf-8": ((b'{"id": "\xff"}', None), "not valid JSON"),
    "header length wrong": ((_triton_fp32()[0], 20), r"not valid JSON \(is Inference-Header"),
    "not an object": ((b"[1, 2]", None), "must be a JSON object"),
    "missing inputs": ((json_body(id="1"), None), "needs an 'inputs' list"),
    "empty inputs": ((json_body(inputs=[]), None), "needs an 'inputs' list"),
    "input not object": ((json_body(inputs=[3]), None), r"inputs\[0\] must be an object"),
    "id not string": ((json_body(id=1, inputs=[]), None), "'id' must be a string"),
    "no name": ((one_input(name=""), None), "with a 'name' string"),
    "no datatype": ((one_input(datatype=None), None), "needs a 'datatype' string"),
    "unknown datatype": ((one_input(datatype="fp32"), None), "Unknown datatype 'fp32'"),
    "bf16": ((one_input(datatype="BF16"), None), "BF16 is not supported"),
    "negative shape": ((one_input(shape=[-1]), None), "non-negative integers"),
    "float shape": ((one_input(shape=[2.0]), None), "non-negative integers"),
    "shape not list": ((one_input(shape="2"), None), "non-negative integers"),
    "too many dims": ((one_input(shape=[1] * 33), None), "at most 32"),
    "huge shape": ((one_input(shape=[2**20, 2**20, 2**20]), None), "too large"),
    "huge dim times zero": ((one_input(shape=[0, 2**63]), None), "too large"),
    "data count": ((one_input(shape=[3]), None), "has 2 data values but shape \\[3\\] needs 3"),
    "nested shape": (
        (one_input(shape=[4], data=[[1, 2], [3, 4]]), None),
        r"nested 'data' has shape \[2, 2\]",
    ),
    "ragged": ((one_input(shape=[2, 2], data=[[1, 2], [3]]), None), "ragged"),
    "mixed nesting": ((one_input(data=[1.0, [2.0]]), None), "holds nested arrays"),
    "data not list": ((one_input(shape=[1], data=1.0), None), "'data' must be a JSON array"),
    "strings for fp32": ((one_input(data=["1.5", "2"]), None), "is FP32 but its data holds str"),
    "bools for int32": (
        (one_input(datatype="INT32", data=[True, 1]), None),
        "is INT32 but its data holds booleans; send integers",
    ),
    "floats for int64": ((one_input(datatype="INT64"), None), "holds non-integer numbers"),
    "nulls for fp64": ((one_input(datatype="FP64", data=[None, 1]), None), "holds nulls"),
    "numbers for bytes": ((one_input(datatype="BYTES"), None), "send strings"),
    "out of range uint8": ((one_input(datatype="UINT8", data=[1, 300]), None), "out of range"),
    "negative uint": ((one_input(datatype="UINT64", data=[1, -1]), None), "out of range"),
    "out of range fp32": ((one_input(data=[1e300, 1.0]), None), "out of range for FP32"),
    "fp16 json": ((one_input(datatype="FP16"), None), "only accepted as binary"),
    "duplicate names": (
        (json_body(inputs=[orjson.loads(one_input())["inputs"][0]] * 2), None),
        "'x' appears twice",
    ),
    "no data": (
        (json_body(inputs=[{"name": "x", "shape": [1], "datatype": "FP32"}]), None),
        "neither 'data'",
    ),
    "shared memory": (
        (one_input(parameters={"shared_memory_region": "r"}), None),
        "uses shared memory",
    ),
    "parameters not object": ((one_input(parameters=[1]), None), "must be a JSON object"),
    "raw binary request": ((b"\x00\x00\x80\x3f", 0), "Raw binary requests"),
    "header longer than body": ((one_input(), 10_000), "set it to the byte length"),
    "negative header": ((one_input(), -1), "set it to the byte length"),
    "binary without header": (
        (_bin_request("FP32", [1], 4, b"")[0], None),
        "header is missing",
    ),
    "data and binary": (
        _with_header(one_input(parameters={"binary_data_size": 8}) + b"\x00" * 8, 8),
        "both 'data' and 'binary_data_size'",
    ),
    "bad binary size": (
        _bin_request("FP32", [1], -4, b""),
        "'binary_data_size' must be an integer",
    ),
    "binary size mismatch": (
        _triton_wrong_shape(),
        "binary_data_size 24 but 4 FP32 values take 16 bytes",
    ),
    "truncated body": (_truncated(), "truncated"),
    "trailing bytes": (_trailing(), "1 bytes after the binary tensors"),
    "bool not 0/1": (_bin_request("BOOL", [2], 2, b"\x01\x02"), "other than 0 and 1"),
    "bytes too small": (_bin_request("BYTES", [2], 4, b"\x00" * 4), "too small for 2 BYTES"),
    "bytes element overrun": (
        _bin_request("BYTES", [1], 6, b"\x09\x00\x00\x00ab"),
        "element 0 runs past",
    ),
    "bytes leftover": (
        _bin_request("BYTES", [1], 7, b"\x02\x00\x00\x00abc"),
        "1 bytes left after its 1 BYTES",
    ),
    "output no name": (
        (one_input()[:-1] + b',"outputs":[{"name":1}]}', None),
        r"outputs\[0\] must be an object",
    ),
    "duplicate outputs": (
        (one_input()[:-1] + b',"outputs":[{"name":"y"},{"name":"y"}]}', None),
        "'y' is requested twice",
    ),
    "classification": (
        triton_body(
            [triton_input("x", ARRAYS["FP32"])],
            [triton.InferRequestedOutput("y", class_count=3)],
        ),
        "Triton's 'classification' is not supported",
    ),
    "output shared memory": (
        (
            one_input()[:-1]
            + b',"outputs":[{"name":"y","parameters":{"shared_memory_region":"r"}}]}',
            None,
        ),
        "'shared_memory_region' is not supported",
    ),
    "binary flag as string": (
        (one_input()[:-1] + b',"outputs":[{"name":"y","parameters":{"binary_data":"no"}}]}', None),
        "'binary_data' must be true or false",
    ),
    "request binary flag as number": (
        (one_input()[:-1] + b',"parameters":{"binary_data_output":1}}', None),
        "'binary_data_output' must be true or false",
    ),
}


@pytest.mark.parametrize(("request_body", "phrase"), ERROR_CASES.values(), ids=list(ERROR_CASES))
def test_bad_requests_raise_malformed_request(
    request_body: tuple[bytes, int | None], phrase: str
) -> None:
    with pytest.raises(MalformedRequestError, match=phrase) as caught:
        decode_request(*request_body)
    assert caught.value.code == "malformed_request"
    assert caught.value.http_status == 400


def test_outputs_must_be_a_list() -> None:
    with pytest.raises(MalformedRequestError, match="'outputs' must be a list"):
        decode_request(one_input()[:-1] + b',"outputs":{"name":"y"}}', None)


@pytest.mark.parametrize("datatype", ["FP64", "BYTES"])
def test_huge_shapes_are_refused_without_allocating(datatype: str) -> None:
    # Both the product and the per-element BYTES prefix bound what may be allocated.
    huge_json = one_input(datatype=datatype, shape=[2**16, 2**16, 2])
    almost = _bin_request(datatype, [2**24], 4096, b"\x00" * 4096)
    tracemalloc.start()
    try:
        for body in [(huge_json, None), almost]:
            with pytest.raises(MalformedRequestError):
                decode_request(*body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


# -- responses read back by tritonclient ------------------------------------------------------


def request_for(outputs: list[triton.InferRequestedOutput] | None) -> InferenceRequest:
    return decode_request(*triton_body([triton_input("x", ARRAYS["INT8"])], outputs))


def as_read_by_triton(array: np.ndarray, binary: bool) -> np.ndarray:
    tensor = Tensor.from_numpy("y", array)
    request = request_for([triton.InferRequestedOutput("y", binary_data=binary)])
    body, headers = encode_response(
        model_name="m", model_version="1", request_id="r", outputs=[tensor], request=request
    )
    assert (INFERENCE_HEADER in headers) is binary
    result = triton_result(body, headers)
    output = result.get_output("y")
    assert ("data" in output) is not binary
    data = result.as_numpy("y")
    assert data is not None
    return data


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", list(ARRAYS))
def test_tritonclient_reads_our_responses(datatype: str, binary: bool) -> None:
    array = ARRAYS[datatype]
    expected = array
    if datatype == "BYTES" and not binary:
        expected = np.array([[v.decode() for v in row] for row in array], dtype=object)
    assert_same(as_read_by_triton(array, binary), expected)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_string_labels_go_out_as_utf8(binary: bool) -> None:
    labels = np.array(["cat", "d\u00f6g", ""])  # a '<U' array, as sklearn predicts
    expected = [s.encode() for s in labels] if binary else labels.tolist()
    assert as_read_by_triton(labels, binary).tolist() == expected


def test_raw_bytes_output_binary_ok_but_json_refused() -> None:
    assert_same(as_read_by_triton(RAW_BYTES, True), RAW_BYTES)
    with pytest.raises(MalformedRequestError, match='request it with "binary_data": true'):
        as_read_by_triton(RAW_BYTES, False)


def test_response_all_outputs_binary_when_none_named() -> None:
    outputs = [Tensor.from_numpy("a", ARRAYS["FP32"]), Tensor.from_numpy("b", ARRAYS["BYTES"])]
    body, headers = encode_response(
        model_name="m",
        model_version=None,
        request_id="r",
        outputs=outputs,
        request=request_for(None),
    )
    result = triton_result(body, headers)
    document = result.get_response()
    assert "model_version" not in document
    assert [o["parameters"]["binary_data_size"] for o in document["outputs"]] == [24, 6 * 4 + 207]
    assert int(headers[INFERENCE_HEADER]) + 24 + 231 == len(body)
    assert_same(result.as_numpy("a"), ARRAYS["FP32"])
    assert_same(result.as_numpy("b"), ARRAYS["BYTES"])


def test_response_selects_requested_outputs_in_order() -> None:
    outputs = [Tensor.from_numpy(name, ARRAYS["INT8"]) for name in ["a", "b", "c"]]
    request = request_for(
        [triton.InferRequestedOutput("c", binary_data=False), triton.InferRequestedOutput("a")]
    )
    body, headers = encode_response(
        model_name="m",
        model_version="3",
        request_id="r",
        outputs=outputs,
        request=request,
        parameters={"served_by": "shipyard"},
    )
    document = triton_result(body, headers).get_response()
    assert [o["name"] for o in document["outputs"]] == ["c", "a"]
    assert document["outputs"][0]["data"] == ARRAYS["INT8"].ravel().tolist()
    assert document["outputs"][1]["parameters"] == {"binary_data_size": 6}
    assert (document["model_name"], document["model_version"], document["id"]) == ("m", "3", "r")
    assert document["parameters"] == {"served_by": "shipyard"}


def test_response_request_level_binary_yields_to_explicit_false() -> None:
    body = json_body(
        parameters={"binary_data_output": True},
        inputs=[{"name": "x", "shape": [1], "datatype": "INT8", "data": [1]}],
        outputs=[{"name": "a", "parameters": {"binary_data": False}}, {"name": "b"}],
    )
    outputs = [Tensor.from_numpy(name, np.array([1.5, 2.5])) for name in ["a", "b"]]
    body, headers = encode_response(
        model_name="m",
        model_version=None,
        request_id="r",
        outputs=outputs,
        request=decode_request(body, None),
    )
    document = triton_result(body, headers).get_response()
    assert document["outputs"][0]["data"] == [1.5, 2.5]
    assert "data" not in document["outputs"][1]


def test_response_without_request_is_plain_json() -> None:
    tensor = Tensor.from_numpy("y", ARRAYS["FP64"], {"content_type": "np"})
    body, headers = encode_response(
        model_name="m", model_version=None, request_id="r", outputs=[tensor], request=None
    )
    assert headers == {}
    assert orjson.loads(body) == {
        "model_name": "m",
        "id": "r",
        "outputs": [
            {
                "name": "y",
                "datatype": "FP64",
                "shape": [2, 3],
                "parameters": {"content_type": "np"},
                "data": ARRAYS["FP64"].ravel().tolist(),
            }
        ],
    }


def test_response_unknown_requested_output_names_the_available_ones() -> None:
    outputs = [
        Tensor.from_numpy("label", ARRAYS["BYTES"]),
        Tensor.from_numpy("proba", ARRAYS["FP32"]),
    ]
    request = request_for([triton.InferRequestedOutput("score")])
    with pytest.raises(
        MalformedRequestError, match=r"no output 'score'.*'label', 'proba'"
    ) as caught:
        encode_response(
            model_name="m", model_version=None, request_id="r", outputs=outputs, request=request
        )
    assert caught.value.http_status == 400


def test_response_output_not_fitting_its_shape_is_a_server_bug() -> None:
    tensor = Tensor("y", "FP32", (4,), np.zeros(3, dtype=np.float32), {})
    with pytest.raises(ValueError, match="has 3 values but shape"):
        encode_response(
            model_name="m", model_version=None, request_id="r", outputs=[tensor], request=None
        )


def test_response_casts_data_to_the_declared_datatype() -> None:
    tensor = Tensor("y", "FP32", (2,), np.array([1, 2], dtype=np.int64), {})
    body, headers = encode_response(
        model_name="m",
        model_version=None,
        request_id="r",
        outputs=[tensor],
        request=request_for(None),
    )
    assert_same(triton_result(body, headers).as_numpy("y"), np.array([1.0, 2.0], dtype=np.float32))


# -- datatypes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", list(ARRAYS))
def test_datatype_mapping_round_trips(datatype: str) -> None:
    assert datatype_of(ARRAYS[datatype]) == datatype
    assert numpy_dtype(datatype) == ARRAYS[datatype].dtype
    assert datatype_of(np.empty(0, dtype=numpy_dtype(datatype))) == datatype


@pytest.mark.parametrize(
    "array", [np.array(["a"]), np.array([b"a"]), np.array(["a"], dtype=object)]
)
def test_strings_and_bytes_arrays_are_bytes(array: np.ndarray) -> None:
    assert datatype_of(array) == "BYTES"


def test_big_endian_arrays_map_and_encode_little_endian() -> None:
    array = np.array([1.5, -2.0], dtype=">f8")
    assert datatype_of(array) == "FP64"
    assert_same(as_read_by_triton(array, True), array.astype("<f8"))


def test_unsupported_numpy_dtype() -> None:
    with pytest.raises(ValueError, match="complex128 has no OIP datatype"):
        datatype_of(np.array([1j]))


def test_unknown_oip_datatype() -> None:
    with pytest.raises(MalformedRequestError, match="Unknown datatype 'STRING'"):
        numpy_dtype("STRING")


def test_public_names_are_all_exported() -> None:
    public = {
        name
        for name, value in vars(oip).items()
        if not name.startswith("_")
        and (name.isupper() or getattr(value, "__module__", None) == oip.__name__)
    }
    assert public == set(oip.__all__)


# -- property: anything tritonclient sends or reads survives the trip -------------------------

NUMERIC = st.sampled_from([d for d in ARRAYS if d != "BYTES"]).map(numpy_dtype)


@settings(max_examples=60, deadline=None)
@given(
    array=NUMERIC.flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
    )
)
def test_binary_round_trip_property(array: np.ndarray) -> None:
    tensor = decode_request(*triton_body([triton_input("x", array)])).inputs[0]
    assert_same(tensor.data, array)
    assert_read_back(as_read_by_triton(tensor.data, True), array)


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        np.dtype(object),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4),
        elements=st.binary(max_size=20),
    )
)
def test_bytes_round_trip_property(array: np.ndarray) -> None:
    tensor = decode_request(*triton_body([triton_input("x", array)])).inputs[0]
    assert_same(tensor.data, array)
    assert_read_back(as_read_by_triton(tensor.data, True), array)
