"""device_product_request: bedside requests to add an unknown product to the catalogue

Revision ID: 0003_product_requests
Revises: 0002_audit_seq_single_use
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0003_product_requests'
down_revision = '0002_audit_seq_single_use'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_product_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_identifier', sa.String(length=120), nullable=False),
    sa.Column('raw_code', sa.Text(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['device_product.id'],
                            name=op.f('fk_device_product_request_product_id_device_product')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff.id'],
                            name=op.f('fk_device_product_request_requested_by_id_staff')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['staff.id'],
                            name=op.f('fk_device_product_request_resolved_by_id_staff')),
    sa.ForeignKeyConstraint(['run_id'], ['ecmo_run.id'], name=op.f('fk_device_product_request_run_id_ecmo_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_product_request'))
    )
    with op.batch_alter_table('device_product_request', schema=None) as batch_op:
        batch_op.create_index('ix_device_product_request_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_product_request', schema=None) as batch_op:
        batch_op.drop_index('ix_device_product_request_status')
    op.drop_table('device_product_request')
