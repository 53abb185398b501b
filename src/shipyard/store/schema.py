"""The metadata schema as SQLAlchemy Core tables: the one place that names SQL columns.

Changing a table here needs an Alembic migration under ``migrations/versions``; a test compares
these tables with what the migrations build and fails when they differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both dialects (SQLite stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; refuse naive datetimes, which would be ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# Plain JSON (text) on PostgreSQL too, not JSONB: JSONB renormalises numbers (1e307 comes back
# as a 308-digit integer, -0.0 as 0), and the registry promises values read back as written.
JsonType = sa.JSON()

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("owner", sa.String(200)),
    sa.Column("description", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    # Incremented in the same transaction that inserts a version: the allocation lock.
    sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(40), nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("artifact_size", sa.BigInteger, nullable=False),
    sa.Column("artifact_filename", sa.String(255), nullable=False),
    sa.Column("signature", JsonType),
    sa.Column("data_version", sa.String(200)),
    sa.Column("data_sha256", sa.String(64)),
    sa.Column("code_commit", sa.String(64)),
    sa.Column("lineage", JsonType, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("intended_use", sa.Text),
    sa.Column("limitations", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("owner", sa.String(200)),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_changed_at", UtcDateTime, nullable=False),
    sa.Column("production_since", UtcDateTime),
    sa.Column("previous_version", sa.Integer),
    sa.Column("reference_profile", JsonType),
    sa.Column("reference_sample_sha256", sa.String(64)),
    sa.Column("reference_sample_size", sa.BigInteger),
    sa.Column("trust_pickle", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("trusted_types", JsonType),
    sa.Column("artifact_signature", JsonType),  # migration 0003
    sa.UniqueConstraint("model_id", "version"),
    # At most one production version per model, enforced by the database itself.
    sa.Index(
        "uq_model_versions_one_production",
        "model_id",
        unique=True,
        sqlite_where=sa.text("status = 'production'"),
        postgresql_where=sa.text("status = 'production'"),
    ),
)

status_changes = sa.Table(
    "status_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Index("ix_status_changes_version_id", "version_id"),
)

# ``details`` is the canonical JSON text that was hashed (see core.auditchain.canonical_json).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# A single row holding the chain's tip. Appends lock it, which serialises writers on every
# dialect, and it lets verification notice entries deleted from the end of the log.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
)

# -- rollouts (migration 0002) -------------------------------------------------------------

endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    # The current revision; incremented in the transaction that inserts the next revision, so
    # the row lock serialises concurrent changes (as models.latest_version does for versions).
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
)

endpoint_revisions = sa.Table(
    "endpoint_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("policy", JsonType, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("reason", sa.Text),
    sa.UniqueConstraint("endpoint_id", "revision"),
)

# A model's gate policy as the YAML text the user wrote; every change is a new revision.
gate_policies = sa.Table(
    "gate_policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("model_id", "revision"),
)

# Evidence stored on a version: gate check reports and pilot load tests (kind), newest wins.
version_checks = sa.Table(
    "version_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("passed", sa.Boolean),
    sa.Column("result", JsonType, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_version_checks_version_id_kind", "version_id", "kind"),
)

promotion_requests = sa.Table(
    "promotion_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("from_status", sa.String(20), nullable=False),
    sa.Column("required_approvals", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("requested_at", UtcDateTime, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("closed_at", UtcDateTime),
    # At most one open request per version.
    sa.Index(
        "uq_promotion_requests_one_pending",
        "version_id",
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("promotion_requests.id"), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("request_id", "actor"),
)

# Automated progressive delivery: the controller's durable state, so it survives restarts.
rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("endpoints.id"), nullable=False),
    sa.Column("canary_version", sa.Integer, nullable=False),
    sa.Column("stable_version", sa.Integer, nullable=False),
    sa.Column("plan", JsonType, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("step_started_at", UtcDateTime, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("last_decision", JsonType),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(
        "uq_rollouts_one_running",
        "endpoint_id",
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    ),
)

# -- alerts (migration 0004) ---------------------------------------------------------------

# Rules name an endpoint by name, not by id: the implicit endpoint of a model served under
# its own name has no row in ``endpoints``. Deleting a rule marks it, so its alerts keep it.
alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("family", sa.String(20), nullable=False),
    sa.Column("comparison", sa.String(10), nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("window_seconds", sa.Float, nullable=False),
    sa.Column("min_samples", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("sensitive", sa.String(200)),
    sa.Column("webhooks", JsonType, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("deleted_at", UtcDateTime),
    sa.Index(
        "uq_alert_rules_live_name",
        "endpoint",
        "name",
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
)

# At most one firing alert per rule: the index makes "fire once" hold across server workers.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.Integer, sa.ForeignKey("alert_rules.id"), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("comparison", sa.String(10), nullable=False),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("detail", JsonType, nullable=False),
    sa.Column("fired_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("resolved_value", sa.Float),
    sa.Index(
        "uq_alerts_one_firing",
        "rule_id",
        unique=True,
        sqlite_where=sa.text("state = 'firing'"),
        postgresql_where=sa.text("state = 'firing'"),
    ),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
    sa.Column("event", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("delivered", sa.Boolean, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
)

# Named leases: one server worker at a time does periodic work (the monitoring pass) that all
# workers are able to do; a holder that dies loses the lease when it expires.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# -- monitoring settings (migration 0005) --------------------------------------------------

# A model's monitoring settings as the YAML text the user wrote; every change is a new revision.
monitoring_settings = sa.Table(
    "monitoring_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("model_id", "revision"),
)
