"""Artifact signatures stored with versions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store.schema import JsonType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both dialects: no table rebuild, indexes and rows stay as they are.
    op.add_column("model_versions", sa.Column("artifact_signature", JsonType))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("artifact_signature")
