"""`shipyard serve` as a real subprocess: the real tritonclient (binary and JSON), several
workers with aggregated metrics and hot swap under load, and no prediction lost across a
graceful restart."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pyarrow.dataset as ds
import pytest

from shipyard.core.settings import Settings
from shipyard.core.types import Role
from shipyard.flavors import Batch
from tests.e2e.cli_runner import cli
from tests.e2e.server_process import ServerProcess, served_env
from tests.fixtures.models import FEATURES_SMALL, small_frame
from tests.fixtures.serving import Served, served_registry

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path: Path, model_dir: Path) -> Iterator[Served]:
    s = served_registry(Settings.for_home(tmp_path / "home"), model_dir)
    yield s
    s.registry.close()


def test_tritonclient_binary_and_json(served: Served) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    x = small_frame()[FEATURES_SMALL].to_numpy()[:7]
    predictor = served.registry.load("cancer:1").predictor
    batch = Batch.from_matrix(x, FEATURES_SMALL)
    expected, expected_proba = predictor.predict(batch), predictor.predict_proba(batch)
    with ServerProcess(served_env(served.settings.home)) as server:
        client = triton.InferenceServerClient(url=urlparse(server.url).netloc)
        try:
            # A fresh dict per call: tritonclient writes Inference-Header-Content-Length into
            # the headers dict it is given, which would poison the next call's headers.
            def auth_() -> dict[str, str]:
                return served.headers()

            assert client.is_server_live() and client.is_server_ready()
            assert client.is_model_ready("cancer", headers=auth_())
            assert not client.is_model_ready("nope", headers=auth_())
            assert "binary_tensor_data" in client.get_server_metadata(headers=auth_())["extensions"]
            meta = client.get_model_metadata("cancer", headers=auth_())
            assert [i["name"] for i in meta["inputs"]] == FEATURES_SMALL

            # tritonclient's default: binary input, binary outputs requested.
            matrix = triton.InferInput("input__0", list(x.shape), "FP64")
            matrix.set_data_from_numpy(x)
            result = client.infer("cancer", [matrix], headers=auth_(), request_id="t-1")
            np.testing.assert_array_equal(result.as_numpy("predictions"), expected)
            np.testing.assert_allclose(result.as_numpy("probabilities"), expected_proba)
            assert result.get_response()["model_version"] == "1"
            assert result.get_response()["id"] == "t-1"

            # Plain JSON both ways, one FP32 tensor per feature, pinned version route.
            columns = []
            for i, name in enumerate(FEATURES_SMALL):
                column = triton.InferInput(name, [len(x)], "FP32")
                column.set_data_from_numpy(x[:, i].astype(np.float32), binary_data=False)
                columns.append(column)
            outputs = [triton.InferRequestedOutput("predictions", binary_data=False)]
            result = client.infer(
                "cancer", columns, model_version="1", outputs=outputs, headers=auth_()
            )
            float32 = Batch.from_matrix(x.astype(np.float32).astype(np.float64), FEATURES_SMALL)
            np.testing.assert_array_equal(
                result.as_numpy("predictions"), predictor.predict(float32)
            )
            assert result.as_numpy("probabilities") is None

            # Errors come back as tritonclient exceptions with our message.
            wrong = triton.InferInput("input__0", [2, 3], "FP64")
            wrong.set_data_from_numpy(np.zeros((2, 3)))
            with pytest.raises(InferenceServerException, match=r"shape \[2, 3\]"):
                client.infer("cancer", [wrong], headers=auth_())
            with pytest.raises(InferenceServerException, match="API key"):
                client.infer("cancer", [matrix])
        finally:
            client.close()


@pytest.mark.slow
def test_two_workers_aggregate_metrics_and_hot_swap_under_load(
    served: Served, model_dir: Path
) -> None:
    served.registry.register("sum", model_dir / "dir_model", sample_data=model_dir / "ab.csv")
    env = served_env(served.settings.home)
    auth = served.headers()
    with ServerProcess(env, "--workers", "2") as server:
        answers: list[tuple[int, float]] = []
        failures: list[str] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:
                while not stop.is_set():
                    try:
                        r = http.post("/v1/endpoints/sum/predict", json={"instances": [[1, 2]]})
                    except httpx.TransportError as exc:
                        failures.append(repr(exc))
                        continue
                    if r.status_code == 200:
                        answers.append((r.json()["version"], r.json()["predictions"][0]))
                    else:
                        failures.append(r.text)

        threads = [threading.Thread(target=load) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        cli(env, "promote", "sum:2", "--to", "production")  # another process, as a user would
        promoted_at = len(answers)
        _wait_for(lambda: _last_all(answers, 2, 30), timeout=15)
        swap_answers = len(answers) - promoted_at
        cli(env, "promote", "sum:1", "--to", "production")  # roll back
        _wait_for(lambda: _last_all(answers, 1, 30), timeout=15)
        stop.set()
        for t in threads:
            t.join()
        total = len(answers)
        with httpx.Client(base_url=server.url, headers=auth) as http:
            scrapes = [http.get("/metrics").text for _ in range(4)]
    assert failures == []
    assert {v for v, _ in answers} == {1, 2}
    assert all(p == (3.0 if v == 1 else 6.0) for v, p in answers)
    assert swap_answers < total
    # Every scrape (whichever worker answers it) counts the requests of both workers.
    prefix = 'shipyard_requests_total{endpoint="sum",model="sum",protocol="v1",status="200"'
    assert [_metric_sum(text, prefix) for text in scrapes] == [total] * 4


def test_no_prediction_is_lost_across_a_graceful_restart(served: Served) -> None:
    env = served_env(served.settings.home)
    ids: list[str] = []
    for _ in range(2):
        with ServerProcess(env, "--no-log-predictions") as quiet:
            assert quiet.url  # logging off: nothing written by this run
        server = ServerProcess(env)
        server.start()
        with httpx.Client(base_url=server.url, headers=served.headers()) as http:
            for i in range(30):
                r = http.post("/v1/endpoints/sum/predict", json={"instances": [[i, 1]]})
                ids.append(r.json()["request_id"])
        # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit.
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM), server.text()
        assert "Application shutdown complete" in server.text()
    table = ds.dataset(served.settings.home / "logs" / "sum", format="parquet").to_table()
    assert sorted(table.column("request_id").to_pylist()) == sorted(ids)
    leftovers = [p for p in (served.settings.home / "logs").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_serve_refuses_bad_setups_clearly(tmp_path: Path) -> None:
    env = served_env(tmp_path / "empty")
    done = cli(env, "serve", "--port", "0", ok=False)
    assert done.returncode == 1 and "shipyard init" in done.stderr
    assert "Traceback" not in done.stderr
    done = cli(env, "serve", "--role", "sideways", ok=False)
    assert done.returncode == 1 and "Unknown role" in done.stderr


def test_no_auth_warns_on_start(served: Served) -> None:
    with ServerProcess(served_env(served.settings.home), "--no-auth") as server:
        r = httpx.post(f"{server.url}/v1/endpoints/sum/predict", json={"instances": [[1, 2]]})
    assert r.status_code == 200
    assert "authentication is OFF" in server.text()


def test_cold_start_is_reported(served: Served) -> None:
    with ServerProcess(served_env(served.settings.home)) as server:
        r = httpx.post(
            f"{server.url}/v1/endpoints/cancer/predict",
            json={"instances": [dict.fromkeys(FEATURES_SMALL, 1.0)]},
            headers=served.headers(Role.PREDICTOR),
        )
        ready_after = server.ready_after
    assert r.status_code == 200
    print(f"cold start to ready with 4 models: {ready_after:.2f} s")


def _last_all(answers: list[tuple[int, float]], version: int, n: int) -> bool:
    tail = answers[-n:]
    return len(tail) == n and all(v == version for v, _ in tail)


def _wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _metric_sum(text: str, prefix: str) -> float:
    """The sum of every series starting with ``prefix`` (all versions)."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_quickstart_ends_by_serving(tmp_path: Path) -> None:
    env = served_env(tmp_path / "home")
    with ServerProcess(env, command="quickstart", ready_timeout=120) as server:
        text = server.text()
        key = re.search(r"Bearer (sy_\S+?)'", text)
        body = re.search(r"-d '(\{.*\})'", text)
        assert key and body, text
        r = httpx.post(
            f"{server.url}/v1/endpoints/breast-cancer/predict",
            content=body.group(1),
            headers={"Authorization": f"Bearer {key.group(1)}"},
        )
    assert r.status_code == 200 and r.json()["model"] == "breast-cancer", r.text
