"""S3ArtifactStore and the Registry against a real moto S3 server over HTTP on 127.0.0.1.

No in-process ``mock_aws``: every call goes through botocore's HTTP stack to a server on a
free port, so request signing, HEAD-without-body errors and multipart uploads are the real
thing. One server per session; one fresh bucket per test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from shipyard.artifacts import open_artifact_store
from shipyard.artifacts.s3 import S3ArtifactStore
from shipyard.core.errors import (
    ArtifactNotFoundError,
    ArtifactStoreUnavailableError,
    IntegrityError,
    SampleDataMismatchError,
)
from shipyard.core.settings import Settings
from shipyard.flavors.base import Batch
from shipyard.registry import Registry
from shipyard.registry.setup import initialise
from tests.fixtures.models import FEATURES_SMALL
from tests.integration.s3_server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    iam_auth,
    running_moto_server,
)

pytestmark = pytest.mark.s3

MISSING_BUCKET = "no-such-bucket"


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    with running_moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_env(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a user of an S3-compatible store sets; nothing from ~/.aws leaks in."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # boto3's default session caches credentials: start each test from the environment above.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """Shared by the explicit clients: a session caches service models (~0.1 s per client)."""
    return boto3.session.Session()


def make_client(
    session: boto3.session.Session,
    endpoint: str,
    key: str = ACCESS_KEY,
    secret: str = SECRET_KEY,
    service: str = "s3",
) -> Any:
    return session.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=REGION,
    )


@pytest.fixture
def s3(boto_session: boto3.session.Session, endpoint: str) -> Any:
    """An explicitly configured client (independent of the environment)."""
    return make_client(boto_session, endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"shipyard-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(bucket: str, s3: Any) -> S3ArtifactStore:
    return S3ArtifactStore(f"s3://{bucket}/blobs", client=s3)


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"model bytes " + uuid.uuid4().bytes * 100)
    return path


def keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def count_uploads(s3: Any) -> list[str]:
    """Record every upload request the client sends (the requests are still real)."""
    sent: list[str] = []
    for operation in ("PutObject", "CreateMultipartUpload"):
        s3.meta.events.register(
            f"before-call.s3.{operation}",
            lambda model, **_: sent.append(model.name),
        )
    return sent


# -- 1. contract --------------------------------------------------------------------------


def test_put_file_returns_digest_and_size_and_stores_under_prefix(
    store: S3ArtifactStore, s3: Any, bucket: str, blob: Path
) -> None:
    data = blob.read_bytes()
    sha256, size = store.put_file(blob)

    assert (sha256, size) == (hashlib.sha256(data).hexdigest(), len(data))
    key = f"blobs/sha256/{sha256[:2]}/{sha256}"
    assert keys(s3, bucket) == [key]
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == size
    assert head["Metadata"] == {"sha256": sha256}
    assert store.exists(sha256)
    assert not store.exists(hashlib.sha256(b"something else").hexdigest())


def test_put_file_is_idempotent_for_identical_content(
    store: S3ArtifactStore, s3: Any, bucket: str, blob: Path, tmp_path: Path
) -> None:
    first = store.put_file(blob)
    key = keys(s3, bucket)
    etag = s3.head_object(Bucket=bucket, Key=key[0])["ETag"]
    uploads = count_uploads(s3)
    same_bytes_elsewhere = tmp_path / "copy.bin"
    same_bytes_elsewhere.write_bytes(blob.read_bytes())

    assert store.put_file(blob) == first
    assert store.put_file(same_bytes_elsewhere) == first

    assert uploads == []  # the second and third put only asked whether the blob exists
    assert keys(s3, bucket) == key
    assert s3.head_object(Bucket=bucket, Key=key[0])["ETag"] == etag


def test_fetch_writes_a_verified_copy(store: S3ArtifactStore, blob: Path, tmp_path: Path) -> None:
    sha256, _ = store.put_file(blob)
    dest = tmp_path / "out" / "nested" / "model.bin"

    assert store.fetch(sha256, dest) == dest
    assert dest.read_bytes() == blob.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["model.bin"]  # no temp file left


def test_multipart_upload_round_trips(
    store: S3ArtifactStore, s3: Any, bucket: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(uuid.uuid4().bytes * (9 * 1024 * 1024 // 16))  # over boto3's 8 MiB threshold
    uploads = count_uploads(s3)

    sha256, size = store.put_file(big)

    assert uploads == ["CreateMultipartUpload"]
    assert size == big.stat().st_size
    head = s3.head_object(Bucket=bucket, Key=f"blobs/sha256/{sha256[:2]}/{sha256}")
    assert head["Metadata"] == {"sha256": sha256}
    dest = store.fetch(sha256, tmp_path / "back.bin")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha256


def test_fetch_of_unknown_digest_is_artifact_not_found(
    store: S3ArtifactStore, tmp_path: Path
) -> None:
    unknown = hashlib.sha256(b"never stored").hexdigest()
    dest = tmp_path / "out" / "model.bin"

    with pytest.raises(ArtifactNotFoundError, match=unknown):
        store.fetch(unknown, dest)
    assert not dest.exists()


def test_open_artifact_store_uses_the_environment(
    s3: Any, bucket: str, blob: Path, tmp_path: Path
) -> None:
    """AWS_ENDPOINT_URL and the AWS_* credentials alone lead the store to our server."""
    store = open_artifact_store(f"s3://{bucket}/via-env/")
    assert isinstance(store, S3ArtifactStore)

    store.check()
    sha256, _ = store.put_file(blob)

    # Seen through the explicitly configured client: it really is on this server.
    assert keys(s3, bucket) == [f"via-env/sha256/{sha256[:2]}/{sha256}"]
    assert store.fetch(sha256, tmp_path / "back.bin").read_bytes() == blob.read_bytes()


# -- 2. tampering -------------------------------------------------------------------------


def tamper(s3: Any, bucket: str, key: str) -> str:
    """Overwrite a stored object in place; returns the SHA-256 of the new bytes."""
    forged = b"forged bytes " + uuid.uuid4().bytes
    s3.put_object(Bucket=bucket, Key=key, Body=forged)
    return hashlib.sha256(forged).hexdigest()


def test_tampered_object_fails_fetch_naming_both_hashes(
    store: S3ArtifactStore, s3: Any, bucket: str, blob: Path, tmp_path: Path
) -> None:
    sha256, _ = store.put_file(blob)
    actual = tamper(s3, bucket, f"blobs/sha256/{sha256[:2]}/{sha256}")
    dest = tmp_path / "out" / "model.bin"

    with pytest.raises(IntegrityError) as info:
        store.fetch(sha256, dest)

    assert sha256 in info.value.message
    assert actual in info.value.message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the temp file was removed too


def test_tampered_object_leaves_an_earlier_verified_copy_untouched(
    store: S3ArtifactStore, s3: Any, bucket: str, blob: Path, tmp_path: Path
) -> None:
    sha256, _ = store.put_file(blob)
    dest = store.fetch(sha256, tmp_path / "model.bin")
    tamper(s3, bucket, f"blobs/sha256/{sha256[:2]}/{sha256}")

    with pytest.raises(IntegrityError):
        store.fetch(sha256, dest)
    assert dest.read_bytes() == blob.read_bytes()


# -- 3. missing bucket --------------------------------------------------------------------


def test_check_on_missing_bucket(s3: Any) -> None:
    store = S3ArtifactStore(f"s3://{MISSING_BUCKET}/prefix", client=s3)

    with pytest.raises(ArtifactStoreUnavailableError) as info:
        store.check()
    assert MISSING_BUCKET in info.value.message
    assert "does not exist" in info.value.message


def test_put_file_on_missing_bucket(s3: Any, blob: Path) -> None:
    store = S3ArtifactStore(f"s3://{MISSING_BUCKET}/prefix", client=s3)

    with pytest.raises(ArtifactStoreUnavailableError) as info:
        store.put_file(blob)
    assert MISSING_BUCKET in info.value.message
    assert "does not exist" in info.value.message


def test_fetch_on_missing_bucket(s3: Any, tmp_path: Path) -> None:
    store = S3ArtifactStore(f"s3://{MISSING_BUCKET}/prefix", client=s3)

    with pytest.raises(ArtifactStoreUnavailableError, match="does not exist"):
        store.fetch(hashlib.sha256(b"x").hexdigest(), tmp_path / "model.bin")
    assert not (tmp_path / "model.bin").exists()


def test_unreachable_endpoint(boto_session: boto3.session.Session, blob: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto_session.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2),
    )
    store = S3ArtifactStore("s3://some-bucket/prefix", client=client)

    with pytest.raises(ArtifactStoreUnavailableError, match="Cannot reach"):
        store.check()


# -- 4. credentials (the real server, with IAM authentication on) --------------------------


@pytest.fixture
def iam_user_key(boto_session: boto3.session.Session, endpoint: str) -> tuple[str, str]:
    """An access key the server knows, whose user may do anything on S3."""
    iam = make_client(boto_session, endpoint, service="iam")
    user = f"shipyard-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="s3-all",
        PolicyDocument='{"Version": "2012-10-17", "Statement": '
        '[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
    )
    created = iam.create_access_key(UserName=user)["AccessKey"]
    return created["AccessKeyId"], created["SecretAccessKey"]


def test_real_server_rejects_unknown_access_key(
    boto_session: boto3.session.Session,
    endpoint: str,
    bucket: str,
    blob: Path,
    iam_user_key: tuple[str, str],
) -> None:
    key_id, secret = iam_user_key
    uri = f"s3://{bucket}/blobs"

    def store_with(key: str, secret: str) -> S3ArtifactStore:
        return S3ArtifactStore(uri, client=make_client(boto_session, endpoint, key, secret))

    with iam_auth(endpoint):
        # Control: the same server accepts a key it knows, so what fails below is the key.
        store_with(key_id, secret).check()

        unknown = store_with("AKIAUNKNOWNKEY000000", "x")
        with pytest.raises(ArtifactStoreUnavailableError) as info:
            unknown.check()
        assert "credentials" in info.value.message
        assert bucket in info.value.message

        with pytest.raises(ArtifactStoreUnavailableError, match="credentials"):
            unknown.put_file(blob)

        wrong_secret = store_with(key_id, "wrong")
        with pytest.raises(ArtifactStoreUnavailableError, match="credentials"):
            wrong_secret.check()


def test_real_server_rejects_unknown_access_key_from_the_environment(
    endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    store = open_artifact_store(f"s3://{bucket}/blobs")
    with iam_auth(endpoint), pytest.raises(ArtifactStoreUnavailableError, match="credentials"):
        store.check()


def test_error_codes_with_a_body_translate_to_a_credentials_message(s3: Any, bucket: str) -> None:
    """GET (unlike HEAD) returns an error body: the named code, not just 403, is mapped."""
    store = S3ArtifactStore(f"s3://{bucket}/blobs", client=s3)
    error = ClientError(
        {"Error": {"Code": "InvalidAccessKeyId", "Message": "no such key"}}, "GetObject"
    )
    translated = store._translate(error)
    assert isinstance(translated, ArtifactStoreUnavailableError)
    assert "InvalidAccessKeyId" in translated.message
    assert "credentials" in translated.message


# -- 5./6. the registry end to end --------------------------------------------------------


def make_settings(tmp_path: Path, artifact_uri: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path}/db.sqlite",
        artifact_uri=artifact_uri,
    )


@pytest.fixture
def s3_registry(tmp_path: Path, bucket: str) -> Iterator[Registry]:
    settings = make_settings(tmp_path, f"s3://{bucket}/shipyard")
    initialise(settings, actor="test:setup")
    with Registry.open(settings, actor="test:s3") as registry:
        yield registry


def test_register_and_load_through_s3(
    s3_registry: Registry, s3: Any, bucket: str, model_dir: Path
) -> None:
    registration = s3_registry.register(
        "cancer-clf",
        model_dir / "model.skops",
        sample_data=model_dir / "sample.csv",
        target="target",
    )
    version = registration.version
    assert version.ref == "cancer-clf:1"

    sha = version.artifact.sha256
    assert sha == hashlib.sha256((model_dir / "model.skops").read_bytes()).hexdigest()
    reference = version.reference_sample
    assert reference is not None
    stored = keys(s3, bucket)
    assert stored == sorted(
        [
            f"shipyard/sha256/{sha[:2]}/{sha}",
            f"shipyard/sha256/{reference.sha256[:2]}/{reference.sha256}",
        ]
    )

    loaded = s3_registry.load("cancer-clf:1")
    frame = pd.read_csv(model_dir / "sample.csv")
    batch = Batch({name: frame[name].to_numpy() for name in FEATURES_SMALL})
    predictions = loaded.predictor.predict(batch)
    assert len(predictions) == len(frame)
    assert (predictions == frame["target"].to_numpy()).mean() > 0.8


def test_tampered_artifact_in_s3_is_refused_by_load(
    s3_registry: Registry, s3: Any, bucket: str, model_dir: Path
) -> None:
    version = s3_registry.register("cancer-clf", model_dir / "model.skops").version
    s3_registry.load("cancer-clf:1")  # loads while intact (and leaves a cached copy)
    sha = version.artifact.sha256
    actual = tamper(s3, bucket, f"shipyard/sha256/{sha[:2]}/{sha}")

    with pytest.raises(IntegrityError) as info:
        s3_registry.load("cancer-clf:1")
    assert sha in info.value.message
    assert actual in info.value.message


def test_registration_against_a_missing_bucket_leaves_no_version(
    tmp_path: Path, bucket: str, model_dir: Path
) -> None:
    settings = make_settings(tmp_path, f"s3://{bucket}/shipyard")
    initialise(settings, actor="test:setup")
    broken = dataclasses.replace(settings, artifact_uri=f"s3://{MISSING_BUCKET}/shipyard")

    with Registry.open(broken, actor="test:s3") as registry:
        with pytest.raises(ArtifactStoreUnavailableError, match=MISSING_BUCKET):
            registry.register(
                "cancer-clf",
                model_dir / "model.skops",
                sample_data=model_dir / "sample.csv",
                target="target",
            )
        assert registry.list_models() == []
        assert registry.audit_entries(action="version.register") == []


def test_registration_failing_on_sample_data_uploads_nothing(
    s3_registry: Registry, s3: Any, bucket: str, model_dir: Path
) -> None:
    with pytest.raises(SampleDataMismatchError):
        s3_registry.register(
            "cancer-clf",
            model_dir / "model.skops",
            sample_data=model_dir / "sample.csv",
            target="no-such-column",
        )
    assert s3_registry.list_models() == []
    assert keys(s3, bucket) == []
