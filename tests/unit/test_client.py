"""The Python client without sockets: error codes back to classes, requests it sends, answers it
refuses, the key never shown, and an import that stays light (httpx.MockTransport throughout)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from http import HTTPStatus

import httpx
import pytest

from shipyard.client import Client, Prediction, RemoteError, ServerUnavailableError
from shipyard.client.errors import NO_KEY_HINT, error_classes, error_for
from shipyard.core import errors
from shipyard.core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    MissingExtraError,
    ModelError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ShipyardError,
)

URL = "http://shipyard.test"
SECRET = "sy_0123456789ab_s3cr3t-part-never-shown"
Handler = Callable[[httpx.Request], httpx.Response]


def tree() -> list[type[ShipyardError]]:
    """Every class of the documented tree, found without the code under test."""
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ShipyardError)
    ]
    assert len(found) > 20
    return found


def client(handler: Handler, api_key: str | None = SECRET) -> Client:
    return Client(
        URL, api_key if api_key is not None else "", transport=httpx.MockTransport(handler)
    )


def answer(status: int, body: object) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def failure(code: str, message: str, status: int) -> Handler:
    return answer(status, {"error": {"code": code, "message": message}})


# -- code → class ---------------------------------------------------------------------------


def test_every_error_code_is_unique_and_maps_back_to_its_class() -> None:
    classes = tree()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert error_classes() == {cls.code: cls for cls in classes}
    for cls in classes:
        if cls is RemoteError:
            continue
        error = error_for(cls.code, "what went wrong, what to do", int(cls.http_status))
        assert type(error) is cls
        assert error.code == cls.code and error.message == "what went wrong, what to do"
        assert str(error) == "what went wrong, what to do"


def test_the_docstring_tree_names_every_class() -> None:
    assert errors.__doc__ is not None
    for cls in tree():
        assert f" {cls.__name__}" in errors.__doc__, cls.__name__


def test_subclasses_are_caught_by_their_parents() -> None:
    error = error_for("model_not_found", "No model named 'x'.", 404)
    assert isinstance(error, ModelNotFoundError) and isinstance(error, NotFoundError)
    # MissingExtraError composes its message from parts locally; the server's text is kept.
    extra = error_for("missing_extra", "pip install 'shipyard-ml[onnx]'", 400)
    assert isinstance(extra, MissingExtraError) and extra.message.endswith("[onnx]'")


def test_unknown_codes_become_remote_errors_with_what_the_server_sent() -> None:
    error = error_for("rate_limited", "Slow down.", 429)
    assert type(error) is RemoteError
    assert error.code == "rate_limited" and error.http_status == HTTPStatus.TOO_MANY_REQUESTS
    assert error.message == "Slow down."
    odd = error_for("cdn_origin_down", "?", 521)
    assert isinstance(odd, RemoteError) and odd.status_code == 521
    assert odd.http_status == HTTPStatus.BAD_GATEWAY


# -- answers become errors ------------------------------------------------------------------


def test_a_json_error_raises_the_servers_class_and_message() -> None:
    with (
        client(failure("model_not_found", "No model named 'nope'.", 404)) as c,
        pytest.raises(ModelNotFoundError) as caught,
    ):
        c.model("nope")
    assert (
        caught.value.code == "model_not_found" and caught.value.message == "No model named 'nope'."
    )

    with (
        client(failure("forbidden", "A viewer key may not admin.", 403)) as c,
        pytest.raises(PermissionDeniedError),
    ):
        c.keys()


def test_a_model_failure_keeps_its_request_id() -> None:
    body = {"error": {"code": "model_error", "message": "It broke.", "request_id": "r-1"}}
    with client(answer(500, body)) as c, pytest.raises(ModelError) as caught:
        c.predict("sum", [[1, 2]])
    assert caught.value.request_id == "r-1"


def test_a_401_without_a_key_says_how_to_send_one() -> None:
    handler = failure("unauthenticated", "This route needs an API key.", 401)
    with client(handler, api_key=None) as c, pytest.raises(AuthenticationError) as caught:
        c.models()
    assert caught.value.message == f"This route needs an API key. {NO_KEY_HINT}"
    with client(handler) as c, pytest.raises(AuthenticationError) as caught:
        c.models()
    assert NO_KEY_HINT not in caught.value.message


@pytest.mark.parametrize(
    ("status", "content", "fragment"),
    [
        (502, b"<html>Bad gateway</html>", "HTTP 502 with a text/html body '<html>Bad gateway"),
        (404, b"", "HTTP 404 with an empty body"),
        (500, b'{"detail": "not ours"}', "HTTP 500"),
        (200, b"<html>some other site</html>", "HTTP 200 with a text/html body"),
        (200, b'"a string"', "HTTP 200"),
    ],
)
def test_answers_that_are_not_shipyards_are_named_as_such(
    status: int, content: bytes, fragment: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": "text/html"})

    with client(handler) as c, pytest.raises(RemoteError) as caught:
        c.models()
    assert fragment in caught.value.message
    assert "SHIPYARD_URL" in caught.value.message and f"{URL}/api/v1/models" in caught.value.message
    assert caught.value.status_code == status


def test_a_redirect_is_not_followed_but_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "https://shipyard.test/api/v1/models"})

    with client(handler) as c, pytest.raises(RemoteError, match="redirect to https://"):
        c.models()


@pytest.mark.parametrize(
    ("raised", "fragments"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), ["connection refused", "serve"]),
        (httpx.ConnectTimeout("timed out"), ["did not answer within 2 s", "timeout"]),
        (httpx.ReadTimeout("timed out"), ["did not answer within 2 s"]),
        (httpx.RemoteProtocolError("Server disconnected"), ["Server disconnected"]),
    ],
)
def test_transport_failures_are_server_unavailable(
    raised: httpx.TransportError, fragments: list[str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    c = Client(URL, SECRET, timeout=2, transport=httpx.MockTransport(handler))
    with pytest.raises(ServerUnavailableError) as caught:
        c.models()
    assert caught.value.code == "server_unavailable"
    assert f"The Shipyard server at {URL} " in caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.message
    assert not c.health()  # health never raises


# -- requests -------------------------------------------------------------------------------


def test_predict_sends_the_documented_body_with_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "request_id": "r-9",
                "endpoint": "credit-risk",
                "model": "credit-risk",
                "version": 3,
                "predictions": [1],
                "probabilities": [[0.2, 0.8]],
                "classes": [0, 1],
                "review": ["newer servers may add fields"],
            },
        )

    with client(handler) as c:
        got = c.predict(
            "credit-risk",
            [{"income": 1}],
            metadata={"group": "a"},
            return_probabilities=True,
            request_id="r-9",
            routing_key="user-7",
        )
        c.predict_version("credit-risk", 3, [[1, 2]])
    assert got == Prediction("r-9", "credit-risk", "credit-risk", 3, [1], [[0.2, 0.8]], [0, 1])
    assert got.raw["review"] == ["newer servers may add fields"]
    first, pinned = seen
    assert first.url.path == "/v1/endpoints/credit-risk/predict"
    assert first.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(first.content) == {
        "instances": [{"income": 1}],
        "metadata": {"group": "a"},
        "return_probabilities": True,
        "request_id": "r-9",
        "routing_key": "user-7",
    }
    assert pinned.url.path == "/v1/models/credit-risk/versions/3/predict"
    assert json.loads(pinned.content) == {"instances": [[1, 2]]}


def test_numpy_rows_and_feedback_pairs_are_sent_as_json() -> None:
    np = pytest.importorskip("numpy")
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if request.url.path == "/v1/feedback":
            return httpx.Response(200, json={"endpoint": "sum", "accepted": 2})
        return httpx.Response(
            200,
            json={
                "request_id": "r",
                "endpoint": "sum",
                "model": "sum",
                "version": 1,
                "predictions": [3.0],
            },
        )

    with client(handler) as c:
        c.predict("sum", np.array([[1.0, 2.0]]))
        accepted = c.feedback("sum", [("r", 3.0), {"request_id": "s", "label": 1, "row": 2}])
    assert accepted == 2
    assert bodies == [
        {"instances": [[1.0, 2.0]]},
        {
            "endpoint": "sum",
            "items": [{"request_id": "r", "label": 3.0}, {"request_id": "s", "label": 1, "row": 2}],
        },
    ]


def test_unserialisable_instances_are_invalid_input_before_any_request() -> None:
    with client(answer(200, {})) as c, pytest.raises(InvalidInputError, match="JSON"):
        c.predict("sum", [[object()]])


def test_audit_pages_past_the_apis_largest_page() -> None:
    newest = 2600
    pages: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        pages.append(params)
        top = int(params.get("before_seq", newest + 1)) - 1
        seqs = range(top, max(top - int(params["limit"]), 0), -1)
        return httpx.Response(200, json=[{"seq": s} for s in seqs])

    with client(handler) as c:
        entries = c.audit(limit=2500, action="key.create")
        assert [e["seq"] for e in entries] == list(range(newest, newest - 2500, -1))
        everything = c.audit(limit=10_000)
    assert [p.get("before_seq") for p in pages[:3]] == [None, "1601", "601"]
    assert [p["limit"] for p in pages[:3]] == ["1000", "1000", "500"]
    assert all(p["action"] == "key.create" for p in pages[:3])
    assert len(everything) == newest  # stops at a short page
    with client(handler) as c, pytest.raises(InvalidInputError):
        c.audit(limit=0)


def test_path_segments_are_quoted() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={})

    with client(handler) as c:
        c.revoke_key("../models?x=1")
    assert seen == ["/api/v1/keys/..%2Fmodels%3Fx%3D1"]


# -- configuration and secrecy ----------------------------------------------------------------


def test_url_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_URL", raising=False)
    monkeypatch.delenv("SHIPYARD_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="set SHIPYARD_URL"):
        Client()
    monkeypatch.setenv("SHIPYARD_URL", "http://127.0.0.1:8000/")
    monkeypatch.setenv("SHIPYARD_API_KEY", SECRET)
    with Client() as c:
        assert c.url == "http://127.0.0.1:8000"
        assert repr(c) == "Client(url='http://127.0.0.1:8000', api_key='sy_0123456789ab_***')"


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host", "localhost"])
def test_urls_without_http_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must start with http"):
        Client(url, SECRET)


def test_the_key_is_never_shown() -> None:
    c = client(failure("unauthenticated", "The API key is unknown.", 401))
    assert "s3cr3t" not in repr(c) and "s3cr3t" not in str(c)
    assert repr(Client(URL, "not-a-shipyard-key")) == f"Client(url='{URL}', api_key='***')"
    assert repr(Client(URL, "")) == f"Client(url='{URL}', api_key=None)"
    with pytest.raises(AuthenticationError) as caught:
        c.models()
    assert "s3cr3t" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="newline") as refused:
        Client(URL, SECRET + "\n")
    assert "s3cr3t" not in str(refused.value)


def test_import_is_light() -> None:
    heavy = ("pandas", "sklearn", "sqlalchemy", "fastapi", "starlette", "numpy", "pyarrow")
    code = f"import sys, shipyard.client; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
