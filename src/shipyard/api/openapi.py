"""The OpenAPI document: FastAPI's control-plane schema plus the hand-described data plane.

The data-plane routes are plain Starlette routes (the hot path skips FastAPI's per-request
machinery), so their shapes are written here once, from the public contract in DESIGN.md and
the Open Inference Protocol v2.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_V2_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
    "required": ["error"],
}
_PREDICT_REQUEST = {
    "type": "object",
    "properties": {
        "instances": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {"type": "object", "description": "{feature: value} for every input"},
                    {"type": "array", "description": "values in signature order"},
                ]
            },
        },
        "metadata": {"type": "object", "description": "logged with the prediction"},
        "routing_key": {"type": "string"},
        "request_id": {"type": "string", "maxLength": 128},
        "return_probabilities": {"type": "boolean", "default": False},
    },
    "required": ["instances"],
    "additionalProperties": False,
}
_PREDICT_RESPONSE = {
    "type": "object",
    "properties": {
        "request_id": {"type": "string"},
        "endpoint": {"type": "string"},
        "model": {"type": "string"},
        "version": {"type": "integer"},
        "predictions": {"type": "array", "items": {}},
        "probabilities": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "classes": {"type": "array", "items": {}},
    },
    "required": ["request_id", "endpoint", "model", "version", "predictions"],
}
_TENSOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {"type": "string"},
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": {}},
    },
    "required": ["name", "shape", "datatype"],
}
_INFER_REQUEST = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "items": _TENSOR},
        "outputs": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["inputs"],
}
_INFER_RESPONSE = {
    "type": "object",
    "properties": {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "id": {"type": "string"},
        "outputs": {"type": "array", "items": _TENSOR},
    },
    "required": ["model_name", "id", "outputs"],
}
_FEEDBACK_REQUEST = {
    "type": "object",
    "properties": {
        "endpoint": {"type": "string"},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "request_id": {"type": "string"},
                    "label": {},
                    "row": {"type": "integer", "minimum": 0},
                },
                "required": ["request_id", "label"],
            },
        },
    },
    "required": ["endpoint", "items"],
}

_ERRORS = {
    str(status): {"description": text, "content": {"application/json": {"schema": _ERROR}}}
    for status, text in [
        (400, "Malformed body"),
        (401, "Missing or bad API key"),
        (403, "The key's role does not allow this"),
        (404, "No such model or version"),
        (413, "Body or instance count over the limit"),
        (422, "Invalid input (names the field and the expected type)"),
        (500, "The model failed (answer names the request id)"),
        (503, "Nothing serving under that name yet"),
    ]
}
_V2_ERRORS = {
    k: {"description": v["description"], "content": {"application/json": {"schema": _V2_ERROR}}}
    for k, v in _ERRORS.items()
}


def _json_op(
    summary: str,
    request: dict[str, Any] | None,
    response: dict[str, Any],
    *,
    v2: bool = False,
    tag: str = "inference",
    params: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": response}}},
            **(_V2_ERRORS if v2 else _ERRORS),
        },
        "security": [{"bearer": []}],
    }
    if request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": request}},
        }
    return op


def _empty(summary: str, *, params: tuple[str, ...] = (), secured: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": ["health"],
        "summary": summary,
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ],
        "responses": {"200": {"description": "Yes"}, "503": {"description": "No"}},
    }
    if secured:
        op["security"] = [{"bearer": []}]
    return op


def data_plane_paths() -> dict[str, Any]:
    """OpenAPI path items of the data-plane and operations routes."""
    ep, nv = ("endpoint",), ("name", "version")
    any_json: dict[str, Any] = {"type": "object"}
    return {
        "/v1/endpoints/{endpoint}/predict": {
            "post": _json_op(
                "Predict with an endpoint", _PREDICT_REQUEST, _PREDICT_RESPONSE, params=ep
            )
        },
        "/v1/models/{name}/versions/{version}/predict": {
            "post": _json_op(
                "Predict with a pinned version", _PREDICT_REQUEST, _PREDICT_RESPONSE, params=nv
            )
        },
        "/v1/feedback": {
            "post": _json_op("Ground truth for earlier requests", _FEEDBACK_REQUEST, any_json)
        },
        "/v2": {"get": _json_op("OIP v2 server metadata", None, any_json, v2=True)},
        "/v2/health/live": {"get": _empty("OIP v2 liveness (empty body)")},
        "/v2/health/ready": {"get": _empty("OIP v2 readiness (empty body)")},
        "/v2/models/{name}": {
            "get": _json_op("OIP v2 model metadata", None, any_json, v2=True, params=("name",))
        },
        "/v2/models/{name}/ready": {
            "get": _empty("OIP v2 model readiness", params=("name",), secured=True)
        },
        "/v2/models/{name}/infer": {
            "post": _json_op(
                "OIP v2 inference (JSON or binary tensors)",
                _INFER_REQUEST,
                _INFER_RESPONSE,
                v2=True,
                params=("name",),
            )
        },
        "/v2/models/{name}/versions/{version}/infer": {
            "post": _json_op(
                "OIP v2 inference on a pinned version",
                _INFER_REQUEST,
                _INFER_RESPONSE,
                v2=True,
                params=nv,
            )
        },
        "/metrics": {
            "get": {
                "tags": ["operations"],
                "summary": "Prometheus metrics (any valid key)",
                "responses": {
                    "200": {"description": "Prometheus text format"},
                    "401": _ERRORS["401"],
                },
                "security": [{"bearer": []}],
            }
        },
        "/healthz": {"get": _empty("Process liveness")},
        "/readyz": {"get": _empty("Readiness, with what is served, loading and failed")},
    }


def install_openapi(app: FastAPI, *, include_data_plane: bool) -> None:
    """Make ``app.openapi()`` return the combined document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            if include_data_plane:
                schema.setdefault("paths", {}).update(data_plane_paths())
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A Shipyard API key (`shipyard keys create`).",
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
