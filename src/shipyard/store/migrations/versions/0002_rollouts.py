"""Safe rollouts: endpoints and revisions, gate policies, version checks, approvals, rollouts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store.schema import JsonType, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}"
    )


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_endpoints"),
        sa.UniqueConstraint("name", name="uq_endpoints_name"),
        _fk("endpoints", "model_id", "models"),
    )
    op.create_table(
        "endpoint_revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("policy", JsonType, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_endpoint_revisions"),
        sa.UniqueConstraint(
            "endpoint_id", "revision", name="uq_endpoint_revisions_endpoint_id_revision"
        ),
        _fk("endpoint_revisions", "endpoint_id", "endpoints"),
    )
    op.create_table(
        "gate_policies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gate_policies"),
        sa.UniqueConstraint("model_id", "revision", name="uq_gate_policies_model_id_revision"),
        _fk("gate_policies", "model_id", "models"),
    )
    op.create_table(
        "version_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("passed", sa.Boolean),
        sa.Column("result", JsonType, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_version_checks"),
        _fk("version_checks", "version_id", "model_versions"),
    )
    op.create_index("ix_version_checks_version_id_kind", "version_checks", ["version_id", "kind"])
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("required_approvals", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("closed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_promotion_requests"),
        _fk("promotion_requests", "version_id", "model_versions"),
    )
    op.create_index(
        "uq_promotion_requests_one_pending",
        "promotion_requests",
        ["version_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.UniqueConstraint("request_id", "actor", name="uq_approvals_request_id_actor"),
        _fk("approvals", "request_id", "promotion_requests"),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
        _fk("rollouts", "endpoint_id", "endpoints"),
    )
    op.create_index(
        "uq_rollouts_one_running",
        "rollouts",
        ["endpoint_id"],
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("uq_rollouts_one_running", table_name="rollouts")
    op.drop_table("rollouts")
    op.drop_table("approvals")
    op.drop_index("uq_promotion_requests_one_pending", table_name="promotion_requests")
    op.drop_table("promotion_requests")
    op.drop_index("ix_version_checks_version_id_kind", table_name="version_checks")
    op.drop_table("version_checks")
    op.drop_table("gate_policies")
    op.drop_table("endpoint_revisions")
    op.drop_table("endpoints")
