"""Open Inference Protocol v2 (KServe/Triton) bodies: decode requests, encode responses.

Transport-free: bytes and the ``Inference-Header-Content-Length`` value in, tensors out, and back.
Covers plain JSON and Triton's binary tensor data extension. Every request problem raises a
``MalformedRequestError`` (400) naming the tensor and the fix. No web framework, no pandas here.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from shipyard.core.errors import MalformedRequestError

__all__ = [
    "INFERENCE_HEADER",
    "MAX_DIMS",
    "MAX_ELEMENTS",
    "InferenceRequest",
    "RequestedOutput",
    "Tensor",
    "datatype_of",
    "decode_request",
    "encode_response",
    "numpy_dtype",
]

INFERENCE_HEADER = "Inference-Header-Content-Length"  # byte length of the JSON part of a body
MAX_ELEMENTS = 2**31  # per tensor, checked before anything is allocated
MAX_DIMS = 32  # numpy 1.x's limit, so arrays stay portable

_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
_BY_KIND = {(dt.kind, dt.itemsize): name for name, dt in _DTYPES.items() if dt.kind in "iuf"}
# Exact Python types orjson yields that each datatype accepts (bool, an int subclass, is not int).
_JSON_KINDS = {name: frozenset({int, float} if name[:2] == "FP" else {int}) for name in _DTYPES}
_JSON_KINDS |= {"BOOL": frozenset({bool}), "BYTES": frozenset({str})}
# Python type of each JSON value orjson can produce -> what to call it in a message.
_JSON_WORDS = {
    bool: "booleans",
    int: "integers",
    float: "non-integer numbers",
    str: "strings",
    list: "nested arrays",
    dict: "objects",
    type(None): "nulls",
}
_U32 = struct.Struct("<I")  # BYTES elements are prefixed by a little-endian uint32 length


@dataclass(frozen=True, slots=True, eq=False)  # eq=False: == on arrays has no single truth value
class Tensor:
    """One named tensor of a request or response.

    Attributes:
        name: Tensor name, unique within its request or response.
        datatype: OIP datatype (``BOOL``, ``UINT8``..``UINT64``, ``INT8``..``INT64``, ``FP16``,
            ``FP32``, ``FP64``, ``BYTES``).
        shape: Dimensions; ``data`` already has this shape.
        data: Values; for ``BYTES`` decoded from a request, an object array of ``bytes``.
        parameters: The tensor's OIP parameters (transport ones such as ``binary_data_size``
            removed).
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: NDArray[Any]
    parameters: dict[str, Any]

    @classmethod
    def from_numpy(
        cls, name: str, array: NDArray[Any], parameters: dict[str, Any] | None = None
    ) -> Tensor:
        """A tensor whose datatype and shape come from ``array`` (see `datatype_of`)."""
        return cls(name, datatype_of(array), tuple(array.shape), array, dict(parameters or {}))


@dataclass(frozen=True, slots=True)
class RequestedOutput:
    """An output named in the request's ``outputs`` list.

    Attributes:
        name: Output name.
        binary: Send it as binary data: its ``binary_data`` parameter, else the request's
            ``binary_data_output``.
        parameters: Its OIP parameters as sent.
    """

    name: str
    binary: bool
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """A decoded and validated inference request.

    Attributes:
        id: The client's request id, to be echoed in the response, or None.
        parameters: Request-level parameters as sent.
        inputs: Input tensors in request order.
        outputs: The outputs asked for, in order; None (or an empty list sent) means all.
        binary_output: ``parameters.binary_data_output``: send outputs as binary by default.
    """

    id: str | None
    parameters: dict[str, Any]
    inputs: list[Tensor]
    outputs: list[RequestedOutput] | None
    binary_output: bool


def numpy_dtype(datatype: str) -> np.dtype[Any]:
    """The numpy dtype holding values of an OIP datatype (``BYTES`` -> object).

    Raises:
        MalformedRequestError: ``datatype`` is unknown (names are case-sensitive) or is BF16,
            which numpy cannot represent.
    """
    dtype = _DTYPES.get(datatype)
    if dtype is not None:
        return dtype
    if datatype == "BF16":
        raise MalformedRequestError("BF16 is not supported (numpy has none); send FP32 or FP16.")
    raise MalformedRequestError(f"Unknown datatype {datatype!r}; use one of {', '.join(_DTYPES)}.")


def datatype_of(array: NDArray[Any]) -> str:
    """The OIP datatype for a numpy array (object, str and bytes arrays -> ``BYTES``).

    Raises:
        ValueError: The dtype has no OIP datatype (complex, datetime, ...): a server-side bug.
    """
    kind = array.dtype.kind
    if kind in "OUS":
        return "BYTES"
    if kind == "b":
        return "BOOL"
    name = _BY_KIND.get((kind, array.dtype.itemsize))
    if name is None:
        raise ValueError(f"numpy dtype {array.dtype} has no OIP datatype; cast it first.")
    return name


def decode_request(body: bytes, header_length: int | None) -> InferenceRequest:
    """Parse and validate an OIP v2 inference request body.

    Args:
        body: The whole HTTP body.
        header_length: Value of the ``Inference-Header-Content-Length`` header, or None if
            absent (then the body is plain JSON).

    Returns:
        The request, each input's data a writable, aligned array of its shape.

    Raises:
        MalformedRequestError: Anything wrong with the body, naming the tensor and the fix;
            also raw binary requests (header length 0), shared memory and classification.
    """
    view = memoryview(body)
    if header_length is None:
        header, binary = view, None
    elif header_length == 0:
        raise MalformedRequestError(
            f"Raw binary requests ({INFERENCE_HEADER}: 0) are not supported; send a JSON header."
        )
    elif not 0 < header_length <= len(body):
        raise MalformedRequestError(
            f"{INFERENCE_HEADER} is {header_length}, body is {len(body)} bytes; set it to the "
            "byte length of the JSON header."
        )
    else:
        header, binary = view[:header_length], view[header_length:]
    try:
        doc = orjson.loads(header)
    except orjson.JSONDecodeError as exc:
        hint = f" (is {INFERENCE_HEADER} right?)" if binary is not None else ""
        raise MalformedRequestError(
            f"The request body is not valid JSON{hint}: {exc}. Send an OIP v2 JSON object."
        ) from exc
    if not isinstance(doc, dict):
        raise MalformedRequestError("The request body must be a JSON object with an 'inputs' list.")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise MalformedRequestError("The request 'id' must be a string.")
    parameters = _parameters(doc.get("parameters"), "The request")
    binary_output = _flag(parameters, "binary_data_output", False, "The request")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise MalformedRequestError("The request needs an 'inputs' list of tensors.")
    inputs: list[Tensor] = []
    seen: set[str] = set()
    offset = 0
    for index, raw in enumerate(raw_inputs):
        tensor, offset = _decode_input(index, raw, binary, offset)
        if tensor.name in seen:
            raise MalformedRequestError(
                f"Input tensor {tensor.name!r} appears twice; send it once."
            )
        seen.add(tensor.name)
        inputs.append(tensor)
    if binary is not None and offset != len(binary):
        raise MalformedRequestError(
            f"The body has {len(binary) - offset} bytes after the binary tensors; check each "
            f"'binary_data_size' and {INFERENCE_HEADER}."
        )
    return InferenceRequest(
        id=request_id,
        parameters=parameters,
        inputs=inputs,
        outputs=_decode_outputs(doc.get("outputs"), binary_output),
        binary_output=binary_output,
    )


def encode_response(
    *,
    model_name: str,
    model_version: str | None,
    request_id: str,
    outputs: list[Tensor],
    request: InferenceRequest | None,
    parameters: dict[str, Any] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Serialise an OIP v2 inference response, binary where the request asked for it.

    Args:
        model_name: Echoed as ``model_name``.
        model_version: Echoed as ``model_version``; omitted when None.
        request_id: Echoed as ``id``.
        outputs: Everything the model produced.
        request: The decoded request (picks outputs and binary mode); None: all, as JSON.
        parameters: Response-level parameters; omitted when empty.

    Returns:
        ``(body, headers)``: JSON then the binary outputs' raw bytes, with ``headers`` holding
        ``Inference-Header-Content-Length``; or plain JSON and no headers.

    Raises:
        MalformedRequestError: The request asked for an output the model does not produce, or
            for non-UTF-8 ``BYTES`` as JSON.
        ValueError: An output's data does not fit its shape: a server-side bug.
    """
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    is_binary = False
    for tensor, binary in _select(outputs, request):
        flat = _flat(tensor)
        entry = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        extra = dict(tensor.parameters)
        if binary:
            chunks.append(_to_binary(tensor.datatype, flat))
            extra["binary_data_size"] = len(chunks[-1])
            is_binary = True
        else:
            entry["data"] = _to_json(tensor.name, tensor.datatype, flat)
        entries.append(entry | ({"parameters": extra} if extra else {}))
    doc: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        doc["model_version"] = model_version
    doc["id"] = request_id
    if parameters:
        doc["parameters"] = parameters
    doc["outputs"] = entries
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not is_binary:
        return header, {}
    return b"".join([header, *chunks]), {INFERENCE_HEADER: str(len(header))}


# -- decoding --------------------------------------------------------------------------------


def _decode_input(
    index: int, raw: Any, binary: memoryview | None, offset: int
) -> tuple[Tensor, int]:
    """One input tensor, and the offset of the next binary tensor."""
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(name, str) or not name:
        raise MalformedRequestError(f"inputs[{index}] must be an object with a 'name' string.")
    where = f"Input tensor {name!r}"
    datatype = raw.get("datatype")
    if not isinstance(datatype, str):
        raise MalformedRequestError(f"{where} needs a 'datatype' string like 'FP32'.")
    dtype = numpy_dtype(datatype)
    shape, count = _shape(name, raw.get("shape"))
    parameters = _parameters(raw.get("parameters"), where)
    if "shared_memory_region" in parameters:
        raise MalformedRequestError(f"{where} uses shared memory; send its data in the body.")
    size = parameters.pop("binary_data_size", None)
    if size is None and "data" not in raw:
        raise MalformedRequestError(f"{where} has neither 'data' nor 'binary_data_size'.")
    if size is None:
        array = _from_json(name, datatype, dtype, raw["data"], shape, count)
    else:
        chunk = _binary_chunk(where, "data" in raw, size, binary, offset)
        array = _from_binary(name, datatype, dtype, chunk, count)
        offset += len(chunk)
    return Tensor(name, datatype, shape, array.reshape(shape), parameters), offset


def _binary_chunk(
    where: str, has_data: bool, size: Any, binary: memoryview | None, offset: int
) -> memoryview:
    """The ``size`` bytes at ``offset`` of the binary part, after checking they exist."""
    if has_data:
        raise MalformedRequestError(f"{where} has both 'data' and 'binary_data_size'; pick one.")
    if type(size) is not int or size < 0:
        raise MalformedRequestError(f"{where}: 'binary_data_size' must be an integer >= 0.")
    if binary is None:
        raise MalformedRequestError(
            f"{where} is binary but the {INFERENCE_HEADER} header is missing."
        )
    if offset + size > len(binary):
        raise MalformedRequestError(
            f"The body is truncated: {where} needs {size} bytes at offset {offset} of a binary "
            f"part of {len(binary)} bytes."
        )
    return binary[offset : offset + size]


def _shape(name: str, raw: Any) -> tuple[tuple[int, ...], int]:
    """The validated shape and its element count, checked before anything is allocated."""
    is_dims = isinstance(raw, list) and all(type(dim) is int and dim >= 0 for dim in raw)
    if not is_dims or len(raw) > MAX_DIMS:
        raise MalformedRequestError(
            f"Input tensor {name!r} needs a 'shape' of at most {MAX_DIMS} non-negative integers."
        )
    count = math.prod(raw)
    # Each dim is capped too: a zero elsewhere would let a 2**64 dim through the product check.
    if count > MAX_ELEMENTS or any(dim > MAX_ELEMENTS for dim in raw):
        raise MalformedRequestError(
            f"Input tensor {name!r} has shape {raw}, too large: the limit is {MAX_ELEMENTS} "
            "elements per tensor; send smaller batches."
        )
    return tuple(raw), count


def _from_json(
    name: str, datatype: str, dtype: np.dtype[Any], data: Any, shape: tuple[int, ...], count: int
) -> NDArray[Any]:
    """A flat array from JSON ``data``, nested or flat, checked value by value for kind."""
    if datatype == "FP16":
        # JSON numbers are doubles; Triton refuses FP16 in JSON too, so clients expect this.
        raise MalformedRequestError(
            f"Input tensor {name!r} is FP16, only accepted as binary data; send it so or as FP32."
        )
    flat = _flatten(name, data, shape)
    if len(flat) != count:
        raise MalformedRequestError(
            f"Input tensor {name!r} has {len(flat)} data values but shape {list(shape)} needs "
            f"{count}; fix one."
        )
    allowed = _JSON_KINDS[datatype]
    found = {type(value) for value in flat} - allowed
    if found:
        got = " and ".join(sorted(_JSON_WORDS.get(kind, kind.__name__) for kind in found))
        want = " or ".join(sorted(_JSON_WORDS[kind] for kind in allowed))
        raise MalformedRequestError(
            f"Input tensor {name!r} is {datatype} but its data holds {got}; send {want}."
        )
    if datatype == "BYTES":
        array = np.empty(count, dtype=np.object_)
        array[:] = [value.encode() for value in flat]  # orjson has already rejected bad UTF-8
        return array
    try:
        # over="raise": FP32 casts of huge doubles warn and become inf unless told to fail.
        with np.errstate(over="raise", invalid="raise"):
            return np.array(flat, dtype=dtype)
    except (OverflowError, FloatingPointError) as exc:
        raise MalformedRequestError(
            f"Input tensor {name!r} holds a value out of range for {datatype}; widen the type."
        ) from exc


def _flatten(name: str, data: Any, shape: tuple[int, ...]) -> list[Any]:
    """Row-major values of flat or nested ``data``; nested data must have exactly ``shape``."""
    if not isinstance(data, list):
        raise MalformedRequestError(f"Input tensor {name!r}: 'data' must be a JSON array.")
    level: list[Any] = data
    nested = [len(data)]
    # Flatten one level at a time so ragged or mixed nesting is caught, not silently accepted.
    while level and isinstance(level[0], list):
        width = len(level[0])
        flat: list[Any] = []
        for item in level:
            if not isinstance(item, list) or len(item) != width:
                raise MalformedRequestError(
                    f"Input tensor {name!r}: nested 'data' is ragged; send it flat (row-major)."
                )
            flat.extend(item)
        nested.append(width)
        level = flat
    if len(nested) > 1 and tuple(nested) != shape:
        raise MalformedRequestError(
            f"Input tensor {name!r}: nested 'data' has shape {nested}, not {list(shape)}; send "
            "it flat or nested as 'shape' says."
        )
    return level


def _from_binary(
    name: str, datatype: str, dtype: np.dtype[Any], chunk: memoryview, count: int
) -> NDArray[Any]:
    """A flat array from one tensor's raw little-endian bytes."""
    if datatype == "BYTES":
        return _bytes_from_binary(name, chunk, count)
    expected = count * dtype.itemsize
    if len(chunk) != expected:
        raise MalformedRequestError(
            f"Input tensor {name!r} has binary_data_size {len(chunk)} but {count} {datatype} "
            f"values take {expected} bytes; fix 'shape' or the data."
        )
    if datatype == "BOOL":
        raw = np.frombuffer(chunk, dtype=np.uint8)
        if raw.size and int(raw.max()) > 1:
            raise MalformedRequestError(f"Input tensor {name!r} is BOOL: bytes other than 0 and 1.")
        return raw.astype(np.bool_)
    # astype copies: the result is aligned and writable, and does not pin the whole body.
    return np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).astype(dtype)


def _bytes_from_binary(name: str, chunk: memoryview, count: int) -> NDArray[Any]:
    """``count`` BYTES elements, each a little-endian uint32 length then that many bytes."""
    end = len(chunk)
    if count * _U32.size > end:  # also bounds the allocation below by the body's size
        raise MalformedRequestError(
            f"Input tensor {name!r} has binary_data_size {end}, too small for {count} BYTES "
            "elements (4-byte length + data each)."
        )
    array = np.empty(count, dtype=np.object_)
    pos = 0
    for index in range(count):
        length = _U32.unpack_from(chunk, pos)[0] if pos + _U32.size <= end else None
        if length is None or pos + _U32.size + length > end:
            raise MalformedRequestError(
                f"Input tensor {name!r}: BYTES element {index} runs past binary_data_size {end}; "
                "each is a 4-byte little-endian length, then the bytes."
            )
        pos += _U32.size
        array[index] = bytes(chunk[pos : pos + length])
        pos += length
    if pos != end:
        raise MalformedRequestError(
            f"Input tensor {name!r} has {end - pos} bytes left after its {count} BYTES "
            "elements; fix 'shape' or 'binary_data_size'."
        )
    return array


def _decode_outputs(raw: Any, binary_output: bool) -> list[RequestedOutput] | None:
    """The requested outputs, or None for all (absent or empty list, as Triton does)."""
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise MalformedRequestError("The request 'outputs' must be a list of {'name': ...}.")
    outputs: list[RequestedOutput] = []
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise MalformedRequestError(f"outputs[{index}] must be an object with a 'name' string.")
        if any(output.name == name for output in outputs):
            raise MalformedRequestError(f"Output {name!r} is requested twice; list it once.")
        where = f"Requested output {name!r}"
        parameters = _parameters(item.get("parameters"), where)
        for key in ("shared_memory_region", "classification"):
            if key in parameters:
                raise MalformedRequestError(f"{where}: Triton's {key!r} is not supported; drop it.")
        binary = _flag(parameters, "binary_data", binary_output, where)
        outputs.append(RequestedOutput(name, binary, parameters))
    return outputs


def _parameters(raw: Any, where: str) -> dict[str, Any]:
    """A copy of a ``parameters`` object ({} when absent)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MalformedRequestError(f"{where}: 'parameters' must be a JSON object.")
    return dict(raw)


def _flag(parameters: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A boolean parameter, refusing strings such as "false" that would read as true."""
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        raise MalformedRequestError(f"{where}: parameter {key!r} must be true or false.")
    return value


# -- encoding --------------------------------------------------------------------------------


def _select(outputs: list[Tensor], request: InferenceRequest | None) -> list[tuple[Tensor, bool]]:
    """The outputs to send, in order, each with whether it goes binary."""
    if request is None or request.outputs is None:
        binary = request is not None and request.binary_output
        return [(tensor, binary) for tensor in outputs]
    by_name = {tensor.name: tensor for tensor in outputs}
    selected: list[tuple[Tensor, bool]] = []
    for wanted in request.outputs:
        tensor = by_name.get(wanted.name)
        if tensor is None:
            raise MalformedRequestError(
                f"The model has no output {wanted.name!r}; available outputs: "
                f"{', '.join(map(repr, by_name)) or 'none'}."
            )
        selected.append((tensor, wanted.binary))
    return selected


def _flat(tensor: Tensor) -> NDArray[Any]:
    """The tensor's values, row-major and one-dimensional, after checking them against shape."""
    data = np.asarray(tensor.data)
    if data.size != math.prod(tensor.shape):
        raise ValueError(
            f"Output {tensor.name!r} has {data.size} values but shape {list(tensor.shape)}."
        )
    return data.reshape(-1)


def _to_json(name: str, datatype: str, flat: NDArray[Any]) -> Any:
    """JSON-ready data: a numpy array orjson serialises natively, or a list of str."""
    if datatype != "BYTES":
        # FP16 goes out as JSON numbers: every half is exactly a double, so nothing is lost.
        return np.ascontiguousarray(flat, dtype=numpy_dtype(datatype))
    try:
        return [value if isinstance(value, str) else _as_bytes(value).decode() for value in flat]
    except UnicodeDecodeError as exc:
        raise MalformedRequestError(
            f'Output {name!r} is not UTF-8, so not JSON; request it with "binary_data": true.'
        ) from exc


def _to_binary(datatype: str, flat: NDArray[Any]) -> bytes:
    """Raw little-endian bytes; BYTES as length-prefixed elements."""
    if datatype != "BYTES":
        return np.ascontiguousarray(flat, dtype=numpy_dtype(datatype).newbyteorder("<")).tobytes()
    parts: list[bytes] = []
    for value in flat:
        raw = _as_bytes(value)
        parts += (_U32.pack(len(raw)), raw)
    return b"".join(parts)


def _as_bytes(value: Any) -> bytes:
    """One BYTES element: bytes as they are, str as UTF-8, anything else via str()."""
    if isinstance(value, bytes):
        return bytes(value)
    return (value if isinstance(value, str) else str(value)).encode()
