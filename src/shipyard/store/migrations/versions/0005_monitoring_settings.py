"""Monitoring settings per model: YAML text, one row per revision.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_settings"),
        sa.UniqueConstraint(
            "model_id", "revision", name="uq_monitoring_settings_model_id_revision"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_monitoring_settings_model_id_models"
        ),
    )


def downgrade() -> None:
    op.drop_table("monitoring_settings")
