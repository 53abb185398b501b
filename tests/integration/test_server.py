"""The server in process (httpx ASGI transport, lifespan running): REST v1, OIP v2, auth and
roles, errors, batching, hot swap, prediction log, feedback, control plane, metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from tests.fixtures.serving import Served, fast_options, running_app, served_registry

pytestmark = pytest.mark.anyio


def error_of(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]


# -- REST v1 ------------------------------------------------------------------------------


async def test_predict_objects_and_rows(served: Served) -> None:
    async with running_app(served.settings) as client:
        r = await client.post(
            "/v1/endpoints/sum/predict",
            json={"instances": [{"a": 1, "b": 2.5}, {"b": 1, "a": 10}]},
            headers=served.headers(),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == [3.5, 11.0]
        assert (body["endpoint"], body["model"], body["version"]) == ("sum", "sum", 1)
        assert len(body["request_id"]) == 32
        r = await client.post(
            "/v1/endpoints/sum/predict",
            json={"instances": [[1, 2], [3, 4]], "request_id": "mine-1"},
            headers=served.headers(),
        )
        assert r.json()["predictions"] == [3.0, 7.0]
        assert r.json()["request_id"] == "mine-1"


async def test_probabilities_match_the_model(served: Served, model_dir: Path) -> None:
    loaded = served.registry.load("cancer:1")
    row = {"mean radius": 14.0, "mean texture": 20.0, "mean perimeter": 90.0, "mean area": 600.0}
    async with running_app(served.settings) as client:
        r = await client.post(
            "/v1/endpoints/cancer/predict",
            json={"instances": [row], "return_probabilities": True},
            headers=served.headers(),
        )
    assert r.status_code == 200, r.text
    from shipyard.flavors import Batch

    batch = Batch({k: np.array([v]) for k, v in row.items()})
    assert r.json()["predictions"] == loaded.predictor.predict(batch).tolist()
    np.testing.assert_allclose(r.json()["probabilities"], loaded.predictor.predict_proba(batch))
    assert r.json()["classes"] == [0, 1]


async def test_pinned_version_route(served: Served, model_dir: Path) -> None:
    served.registry.register("sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv")
    async with running_app(served.settings) as client:
        pinned = await client.post(
            "/v1/models/sum/versions/2/predict",
            json={"instances": [[1, 2]]},
            headers=served.headers(),
        )
        production = await client.post(
            "/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=served.headers()
        )
        missing = await client.post(
            "/v1/models/sum/versions/9/predict",
            json={"instances": [[1, 2]]},
            headers=served.headers(),
        )
    assert pinned.json()["predictions"] == [6.0] and pinned.json()["version"] == 2
    assert production.json()["predictions"] == [3.0] and production.json()["version"] == 1
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "version_not_found"


BAD_BODIES = [
    # (body, status, code, phrase in the message)
    ({"instances": [{"a": 1}]}, 422, "invalid_input", "missing 'b'"),
    ({"instances": [{"a": 1, "bb": 2}]}, 422, "invalid_input", "did you mean 'b'?"),
    ({"instances": [{"a": 1, "b": 2, "c": 3}]}, 422, "invalid_input", "unexpected 'c'"),
    ({"instances": [{"a": "x", "b": 2}]}, 422, "invalid_input", "feature 'a' ('x') is a string"),
    ({"instances": [{"a": None, "b": 2}]}, 422, "invalid_input", "allows no nulls"),
    ({"instances": [{"a": True, "b": 2}]}, 422, "invalid_input", "is a boolean; expected a number"),
    ({"instances": [[1, 2, 3]]}, 422, "invalid_input", "has 3 values; this model takes 2"),
    ({"instances": [[1, 2], {"a": 1, "b": 2}]}, 422, "invalid_input", "instances[1] is an object"),
    ({"instances": []}, 422, "invalid_input", "'instances' is empty"),
    ({"instances": "nope"}, 422, "invalid_input", "must be a list"),
    ({"instances": [5]}, 422, "invalid_input", "instances[0] is a number"),
    ({"instance": [[1, 2]]}, 422, "invalid_input", "unknown field(s) 'instance'"),
    ({"instances": [[1, 2]], "metadata": 3}, 422, "invalid_input", "'metadata' must be an object"),
    ([1, 2], 400, "malformed_request", "must be a JSON object"),
    (b'{"instances": [[1e400, 2]]}', 400, "malformed_request", "infinity"),
]


@pytest.mark.parametrize(("body", "status", "code", "phrase"), BAD_BODIES)
async def test_bad_input_gets_a_clear_4xx(
    served: Served, body: object, status: int, code: str, phrase: str
) -> None:
    async with running_app(served.settings) as client:
        if isinstance(body, bytes):
            r = await client.post(
                "/v1/endpoints/sum/predict", content=body, headers=served.headers()
            )
        else:
            r = await client.post("/v1/endpoints/sum/predict", json=body, headers=served.headers())
    assert r.status_code == status, r.text
    error = error_of(r)
    assert error["code"] == code
    assert phrase in error["message"]


async def test_malformed_json_and_limits(served: Served) -> None:
    options = fast_options(max_body_bytes=2000, max_instances=3)
    async with running_app(served.settings, options) as client:
        h = served.headers()
        bad_json = await client.post("/v1/endpoints/sum/predict", content=b"{nope", headers=h)
        empty = await client.post("/v1/endpoints/sum/predict", content=b"", headers=h)
        too_many = await client.post(
            "/v1/endpoints/sum/predict", json={"instances": [[1, 2]] * 4}, headers=h
        )
        too_big = await client.post(
            "/v1/endpoints/sum/predict", json={"instances": [[1, 2]] * 500}, headers=h
        )

        async def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(50):
                yield b" " * 100

        chunked = await client.post("/v1/endpoints/sum/predict", content=chunks(), headers=h)
    assert bad_json.status_code == 400 and error_of(bad_json)["code"] == "malformed_request"
    assert "not valid JSON" in error_of(bad_json)["message"]
    assert empty.status_code == 400 and "empty" in error_of(empty)["message"]
    assert too_many.status_code == 413 and "limit is 3" in error_of(too_many)["message"]
    assert too_big.status_code == 413 and error_of(too_big)["code"] == "payload_too_large"
    assert chunked.status_code == 413


async def test_unknown_endpoint_and_route(served: Served) -> None:
    async with running_app(served.settings) as client:
        r = await client.post(
            "/v1/endpoints/nope/predict", json={"instances": [[1]]}, headers=served.headers()
        )
        assert r.status_code == 503 and error_of(r)["code"] == "not_ready"
        assert "promote" in error_of(r)["message"]
        r = await client.get("/v1/nothing-here", headers=served.headers())
        assert r.status_code == 404 and error_of(r)["code"] == "not_found"
        r = await client.get("/v1/endpoints/sum/predict", headers=served.headers())
        assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


async def test_model_failure_is_a_500_with_a_request_id_and_no_details(served: Served) -> None:
    async with running_app(served.settings) as client:
        r = await client.post(
            "/v1/endpoints/picky/predict",
            json={"instances": [{"a": -1, "b": 123456}]},
            headers=served.headers(),
        )
    assert r.status_code == 500
    error = error_of(r)
    assert error["code"] == "model_error"
    assert error["request_id"] in error["message"]
    assert "123456" not in r.text and "secret internal detail" not in r.text
    assert "Traceback" not in r.text


# -- auth and roles -----------------------------------------------------------------------


async def test_auth_and_roles(served: Served) -> None:
    body = {"instances": [[1, 2]]}
    async with running_app(served.settings) as client:
        none = await client.post("/v1/endpoints/sum/predict", json=body)
        bad = await client.post(
            "/v1/endpoints/sum/predict", json=body, headers={"Authorization": "Bearer sy_x_y"}
        )
        basic = await client.post(
            "/v1/endpoints/sum/predict", json=body, headers={"Authorization": "Basic abc"}
        )
        viewer = await client.post(
            "/v1/endpoints/sum/predict", json=body, headers=served.headers(Role.VIEWER)
        )
        deployer = await client.post(
            "/v1/endpoints/sum/predict", json=body, headers=served.headers(Role.DEPLOYER)
        )
        keys_as_predictor = await client.get("/api/v1/keys", headers=served.headers())
        models_as_predictor = await client.get("/api/v1/models", headers=served.headers())
        models_as_viewer = await client.get("/api/v1/models", headers=served.headers(Role.VIEWER))
        open_routes = [
            await client.get(p)
            for p in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready")
        ]
        metrics_anonymous = await client.get("/metrics")
        metrics_viewer = await client.get("/metrics", headers=served.headers(Role.VIEWER))
        v2_anonymous = await client.post("/v2/models/sum/infer", json={"inputs": []})
    for r in (none, bad, basic):
        assert r.status_code == 401 and error_of(r)["code"] == "unauthenticated"
    assert "Authorization: Bearer" in error_of(none)["message"]
    assert viewer.status_code == 403 and error_of(viewer)["code"] == "forbidden"
    assert "predictor" in error_of(viewer)["message"]
    assert deployer.status_code == 200
    assert keys_as_predictor.status_code == 403 and models_as_predictor.status_code == 403
    assert models_as_viewer.status_code == 200
    assert [r.status_code for r in open_routes] == [200, 200, 200, 200]
    assert metrics_anonymous.status_code == 401 and metrics_viewer.status_code == 200
    assert v2_anonymous.status_code == 401 and v2_anonymous.json()["code"] == "unauthenticated"


async def test_revoked_and_expired_keys_stop_working(served: Served) -> None:
    from datetime import UTC, datetime, timedelta

    key, secret = served.registry.create_key(Role.PREDICTOR, name="short")
    soon = datetime.now(UTC) + timedelta(seconds=1)
    _, expiring = served.registry.create_key(Role.PREDICTOR, expires_at=soon)
    body = {"instances": [[1, 2]]}
    auth = {"Authorization": f"Bearer {secret}"}
    async with running_app(served.settings) as client:
        assert (await client.post("/v1/endpoints/sum/predict", json=body, headers=auth)).is_success
        # Revoked by another process (the CLI): the server notices within its cache TTL (1 s).
        served.registry.revoke_key(key.id)
        await asyncio.sleep(1.1)
        r = await client.post("/v1/endpoints/sum/predict", json=body, headers=auth)
        assert r.status_code == 401
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
        r = await client.post(
            "/v1/endpoints/sum/predict",
            json=body,
            headers={"Authorization": f"Bearer {expiring}"},
        )
        assert r.status_code == 401


async def test_no_auth_mode(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    async with running_app(served.settings, fast_options(auth=False)) as client:
        r = await client.post("/v1/endpoints/sum/predict", json={"instances": [[1, 2]]})
    assert r.status_code == 200
    assert any("Authentication is OFF" in m for m in caplog.messages)


# -- micro-batching -----------------------------------------------------------------------


async def test_concurrent_requests_share_model_calls_and_get_their_own_rows(
    served: Served,
) -> None:
    async with running_app(served.settings) as client:
        h = served.headers()

        async def one(i: int) -> tuple[int, dict[str, object]]:
            rows = [[i, j] for j in range(i % 3 + 1)]
            r = await client.post("/v1/endpoints/slow/predict", json={"instances": rows}, headers=h)
            return i, r.json()

        results = await asyncio.gather(*(one(i) for i in range(40)))
        metrics = (await client.get("/metrics", headers=h)).text
    for i, body in results:
        assert body["predictions"] == [float(i + j) for j in range(i % 3 + 1)], body
    calls = _sample(metrics, 'shipyard_batch_rows_count{model="slow",version="1"}')
    requests = _sample(metrics, 'shipyard_batch_requests_sum{model="slow",version="1"}')
    assert requests == 40
    assert _sample(metrics, 'shipyard_batch_queue_depth{model="slow",version="1"}') == 0
    assert calls < 10, f"40 concurrent requests took {calls} model calls"


async def test_batching_can_be_turned_off_per_model(served: Served) -> None:
    options = fast_options(model_batch_size={"slow": 1})
    async with running_app(served.settings, options) as client:
        h = served.headers()
        await asyncio.gather(
            *(
                client.post("/v1/endpoints/slow/predict", json={"instances": [[i, 1]]}, headers=h)
                for i in range(6)
            )
        )
        metrics = (await client.get("/metrics", headers=h)).text
    assert _sample(metrics, 'shipyard_batch_rows_count{model="slow",version="1"}') == 6


async def test_one_failing_request_does_not_fail_those_batched_with_it(served: Served) -> None:
    async with running_app(served.settings) as client:
        h = served.headers()

        async def one(a: int) -> int:
            r = await client.post(
                "/v1/endpoints/picky/predict", json={"instances": [[a, 1]]}, headers=h
            )
            return r.status_code

        statuses = await asyncio.gather(*(one(a) for a in [1, 2, -1, 3, 4, 5]))
    assert statuses == [200, 200, 500, 200, 200, 200]


async def test_response_cache(served: Served) -> None:
    async with running_app(served.settings, fast_options(cache={"sum": 10})) as client:
        h = served.headers()
        for _ in range(3):
            r = await client.post(
                "/v1/endpoints/sum/predict", json={"instances": [{"a": 1, "b": 2}]}, headers=h
            )
            assert r.json()["predictions"] == [3.0]
        metrics = (await client.get("/metrics", headers=h)).text
    assert (
        _sample(metrics, 'shipyard_response_cache_lookups_total{endpoint="sum",result="hit"}') == 2
    )
    assert (
        _sample(metrics, 'shipyard_response_cache_lookups_total{endpoint="sum",result="miss"}') == 1
    )


# -- hot swap -----------------------------------------------------------------------------


async def test_hot_swap_under_load_drops_nothing(served: Served, model_dir: Path) -> None:
    served.registry.register("sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv")
    async with running_app(served.settings) as client:
        h = served.headers()
        answers: list[tuple[int, float]] = []
        failures: list[str] = []
        stop = asyncio.Event()

        async def load() -> None:
            while not stop.is_set():
                r = await client.post(
                    "/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=h
                )
                if r.status_code != 200:
                    failures.append(r.text)
                else:
                    answers.append((r.json()["version"], r.json()["predictions"][0]))

        workers = [asyncio.create_task(load()) for _ in range(8)]
        await asyncio.sleep(0.3)
        await asyncio.to_thread(served.registry.promote, "sum:2", "production")
        await _until(lambda: any(v == 2 for v, _ in answers))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(served.registry.promote, "sum:1", "production")  # rollback
        await _until(lambda: answers[-1][0] == 1)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
    assert failures == []
    assert {v for v, _ in answers} == {1, 2}
    # Every answer names the version that produced it: v1 sums (3), v2 doubles (6).
    assert all(p == (3.0 if v == 1 else 6.0) for v, p in answers)


async def test_a_version_that_fails_to_verify_never_replaces_the_serving_one(
    served: Served, model_dir: Path
) -> None:
    v2 = served.registry.register(
        "sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv"
    ).version
    # The gates pass while the blob is intact (their report is kept), then it is tampered with:
    # the server must still refuse what it cannot verify.
    assert served.registry.gates.check("sum:2").passed
    blob = Path(served.settings.artifact_uri).joinpath(*_blob_parts(v2.artifact.sha256))
    blob.write_bytes(b"tampered")
    async with running_app(served.settings) as client:
        h = served.headers()
        await asyncio.to_thread(served.registry.promote, "sum:2", "production")
        await _until_ok(client, "/readyz", lambda b: "sum:2" in b["failed"])
        r = await client.post("/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=h)
        ready = (await client.get("/readyz")).json()
        metrics = (await client.get("/metrics", headers=h)).text
    assert r.status_code == 200 and r.json()["version"] == 1
    assert "SHA-256" in ready["failed"]["sum:2"] or "sha256" in ready["failed"]["sum:2"].lower()
    assert _sample(metrics, 'shipyard_model_load_failures_total{model="sum",version="2"}') == 1
    entries = served.registry.audit_entries(action="version.load_failed")
    assert [e.target for e in entries] == ["sum:2"]
    assert entries[0].details["code"] == "integrity_error"


# -- prediction log and feedback --------------------------------------------------------


async def test_every_prediction_is_logged_by_shutdown(served: Served) -> None:
    ids: list[str] = []
    async with running_app(served.settings, fast_options(log_flush_interval=60)) as client:
        for i in range(25):
            r = await client.post(
                "/v1/endpoints/sum/predict",
                json={"instances": [[i, 1], [i, 2]], "metadata": {"group": "x"}},
                headers=served.headers(),
            )
            ids.append(r.json()["request_id"])
    # The flush interval is a minute: only the shutdown flush can have written these.
    table = ds.dataset(served.settings.home / "logs" / "sum", format="parquet").to_table()
    assert table.num_rows == 50
    assert sorted(set(table.column("request_id").to_pylist())) == sorted(ids)
    assert table.column("input.a").to_pylist().count(7.0) == 2
    assert set(table.column("metadata").to_pylist()) == {'{"group":"x"}'}


async def test_feedback_is_stored(served: Served) -> None:
    async with running_app(served.settings) as client:
        h = served.headers()
        r = await client.post(
            "/v1/feedback",
            json={"endpoint": "cancer", "items": [{"request_id": "r1", "label": 1}]},
            headers=h,
        )
        assert r.status_code == 200 and r.json() == {"endpoint": "cancer", "accepted": 1}
        unknown = await client.post(
            "/v1/feedback",
            json={"endpoint": "nope", "items": [{"request_id": "r", "label": 1}]},
            headers=h,
        )
        bad = await client.post(
            "/v1/feedback", json={"endpoint": "cancer", "items": [{"label": 1}]}, headers=h
        )
        mixed = await client.post(
            "/v1/feedback",
            json={
                "endpoint": "cancer",
                "items": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": "yes"}],
            },
            headers=h,
        )
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "model_not_found"
    assert bad.status_code == 422 and "request_id" in error_of(bad)["message"]
    assert mixed.status_code == 422 and "same type" in error_of(mixed)["message"]
    table = ds.dataset(served.settings.home / "logs" / "cancer" / "feedback").to_table()
    assert table.column("request_id").to_pylist() == ["r1"]
    assert table.column("label").to_pylist() == [1.0]


# -- control plane ------------------------------------------------------------------------


async def test_control_plane_models_promotion_keys_audit(served: Served, model_dir: Path) -> None:
    served.registry.register("sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv")
    async with running_app(served.settings) as client:
        viewer, deployer = served.headers(Role.VIEWER), served.headers(Role.DEPLOYER)
        approver, admin = served.headers(Role.APPROVER), served.headers(Role.ADMIN)
        models = (await client.get("/api/v1/models", headers=viewer)).json()
        assert {m["name"] for m in models} == {"sum", "cancer", "picky", "slow"}
        one = (await client.get("/api/v1/models/sum", headers=viewer)).json()
        assert [v["version"] for v in one["versions"]] == [2, 1]
        version = (await client.get("/api/v1/models/sum/versions/2", headers=viewer)).json()
        assert version["signature"]["inputs"][0]["name"] == "a"
        missing = await client.get("/api/v1/models/nope", headers=viewer)
        assert missing.status_code == 404 and error_of(missing)["code"] == "model_not_found"
        bad_status = await client.post(
            "/api/v1/models/sum/versions/2/promote", json={"to": "heaven"}, headers=deployer
        )
        assert bad_status.status_code == 422 and error_of(bad_status)["code"] == "invalid_input"
        as_deployer = await client.post(
            "/api/v1/models/sum/versions/2/promote", json={"to": "production"}, headers=deployer
        )
        assert as_deployer.status_code == 403
        staged = await client.post(
            "/api/v1/models/sum/versions/2/promote", json={"to": "staging"}, headers=deployer
        )
        assert staged.json()["status"] == "staging"
        promoted = await client.post(
            "/api/v1/models/sum/versions/2/promote",
            json={"to": "production", "reason": "better"},
            headers=approver,
        )
        assert promoted.json()["status"] == "production"
        await _until_ok(client, "/readyz", lambda b: b["endpoints"]["sum"]["version"] == 2)
        again = await client.post(
            "/api/v1/models/sum/versions/2/promote", json={"to": "production"}, headers=approver
        )
        assert again.status_code == 409 and error_of(again)["code"] == "invalid_transition"
        created = await client.post("/api/v1/keys", json={"role": "viewer"}, headers=admin)
        assert created.status_code == 201 and created.json()["secret"].startswith("sy_")
        new_key = {"Authorization": f"Bearer {created.json()['secret']}"}
        assert (await client.get("/api/v1/models", headers=new_key)).status_code == 200
        revoked = await client.delete(f"/api/v1/keys/{created.json()['id']}", headers=admin)
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/models", headers=new_key)).status_code == 401
        keys = (await client.get("/api/v1/keys", headers=admin)).json()
        assert all("secret" not in k for k in keys)
        audit = (await client.get("/api/v1/audit?limit=5", headers=viewer)).json()
        actions = [e["action"] for e in audit]
        assert actions[:2] == ["key.revoke", "key.create"]
        approver_id = next(k["id"] for k in keys if k["name"] == "test-approver")
        promotion = (
            await client.get("/api/v1/audit?action=version.promote&target=sum:2", headers=viewer)
        ).json()
        assert promotion[0]["actor"] == f"key:{approver_id}"
        verify = (await client.get("/api/v1/audit/verify", headers=viewer)).json()
        assert verify["ok"] is True


async def test_openapi_documents_both_planes(served: Served) -> None:
    async with running_app(served.settings) as client:
        spec = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    paths = spec["paths"]
    for path in (
        "/v1/endpoints/{endpoint}/predict",
        "/v2/models/{name}/infer",
        "/api/v1/models",
        "/api/v1/keys",
        "/metrics",
    ):
        assert path in paths, path
    assert docs.status_code == 200


async def test_each_app_owns_its_metrics(served: Served) -> None:
    async with running_app(served.settings) as first, running_app(served.settings) as second:
        h = served.headers()
        for _ in range(3):
            await first.post("/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=h)
        text_first = (await first.get("/metrics", headers=h)).text
        text_second = (await second.get("/metrics", headers=h)).text
    key = (
        'shipyard_requests_total{endpoint="sum",model="sum",protocol="v1",status="200",version="1"}'
    )
    assert _sample(text_first, key) == 3
    assert _sample(text_second, key) is None


# -- helpers --------------------------------------------------------------------------------


def _sample(metrics: str, prefix: str) -> float | None:
    for line in metrics.splitlines():
        if line.startswith(prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _blob_parts(sha: str) -> list[str]:
    return ["sha256", sha[:2], sha]


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def _until_ok(client: object, path: str, check: object, timeout: float = 10.0) -> None:
    async def reached() -> bool:
        body = (await client.get(path)).json()  # type: ignore[attr-defined]
        try:
            return bool(check(body))  # type: ignore[operator]
        except (KeyError, TypeError):
            return False

    deadline = asyncio.get_running_loop().time() + timeout
    while not await reached():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} never satisfied the check")
        await asyncio.sleep(0.05)


async def test_serving_on_each_dialect(settings: Settings, model_dir: Path) -> None:
    """The store-facing parts (auth lookups, polling, audit of load failures) on both dialects."""
    s = served_registry(settings, model_dir)
    try:
        s.registry.register("sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv")
        async with running_app(settings) as client:
            h = s.headers()
            r = await client.post(
                "/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=h
            )
            assert r.json()["predictions"] == [3.0]
            await asyncio.to_thread(s.registry.promote, "sum:2", "production")
            await _until_ok(client, "/readyz", lambda b: b["endpoints"]["sum"]["version"] == 2)
            r = await client.post(
                "/v1/endpoints/sum/predict", json={"instances": [[1, 2]]}, headers=h
            )
            assert (r.json()["version"], r.json()["predictions"]) == (2, [6.0])
            keys = (await client.get("/api/v1/keys", headers=s.headers(Role.ADMIN))).json()
            assert len(keys) == len(Role) + 1  # one per role + the set-up admin key
    finally:
        s.registry.close()
