"""The same CLI commands against PostgreSQL and a real S3-compatible server (moto on 127.0.0.1)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.cli_runner import cli
from tests.integration.s3_server import ACCESS_KEY, REGION, SECRET_KEY, running_moto_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    url, admin, name = create_postgres_database()
    with running_moto_server() as endpoint:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).create_bucket(Bucket="models")
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SHIPYARD_", "AWS_"))
        }
        environment.update(
            SHIPYARD_HOME=str(tmp_path / "home"),
            SHIPYARD_DATABASE_URL=url,
            SHIPYARD_ARTIFACT_URI="s3://models/shipyard",
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        )
        try:
            yield environment
        finally:
            drop_postgres_database(admin, name)


def test_register_promote_predict_on_postgres_and_s3(
    env: dict[str, str], model_dir: Path, tmp_path: Path
) -> None:
    cli(env, "init")
    version = json.loads(
        cli(
            env,
            "register",
            "cancer",
            str(model_dir / "model.skops"),
            "--sample-data",
            str(model_dir / "sample.csv"),
            "--target",
            "target",
            "--json",
        ).stdout
    )
    cli(env, "promote", "cancer:1", "--to", "production")
    out = tmp_path / "scored.parquet"
    cli(
        env,
        "predict",
        "cancer:production",
        "--input",
        str(model_dir / "to_score.csv"),
        "--output",
        str(out),
    )
    assert len(pd.read_parquet(out)) == 569
    keys = [
        o["Key"]
        for o in boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        ).list_objects_v2(Bucket="models")["Contents"]
    ]
    sha = version["artifact"]["sha256"]
    assert f"shipyard/sha256/{sha[:2]}/{sha}" in keys
    # Nothing of the model went to the local home: only the verified load cache.
    assert not (Path(env["SHIPYARD_HOME"]) / "artifacts").exists()
    assert json.loads(cli(env, "audit", "verify", "--json").stdout)["ok"]
