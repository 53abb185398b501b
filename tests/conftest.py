"""Shared fixtures: a database per test on every dialect, settings, a registry, model files.

PostgreSQL tests use SHIPYARD_TEST_DATABASE_URL (a server where we may create databases); each
test gets a fresh database that is dropped afterwards. Without the variable they skip, unless
SHIPYARD_REQUIRE_POSTGRES is set (CI), where a skip would hide a broken contract: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shipyard.core.settings import Settings
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.fixtures import models as model_files

PG_ENV = "SHIPYARD_TEST_DATABASE_URL"


def postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("SHIPYARD_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} is not set but SHIPYARD_REQUIRE_POSTGRES is: cannot skip.")
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    return url


def create_postgres_database() -> tuple[str, sa.Engine, str]:
    base = make_url(postgres_base_url())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), admin, name


def drop_postgres_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once per dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shipyard.db'}"
        return
    url, admin, name = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(admin, name)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        artifact_uri=str(tmp_path / "artifacts"),
    )


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    initialise(settings, actor="test:setup")
    with Registry.open(settings, actor="test:alice") as reg:
        yield reg


@pytest.fixture(scope="session")
def cancer() -> pd.DataFrame:
    return model_files.cancer_frame()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model files and data built once per session (read-only for tests)."""
    return model_files.build_all(tmp_path_factory.mktemp("models"))
