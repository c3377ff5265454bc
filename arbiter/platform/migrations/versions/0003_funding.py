"""Funding: funders, assets, bills, repayments and disposal packages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 00:38:46.192433
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | None = None
depends_on: str | None = None

# `arbiter.platform.columns.Amount` frozen as at this revision (see 0001).
AMOUNT = sa.Numeric(precision=20, scale=4).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table('funding_asset',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('funder', sa.String(length=200), nullable=False),
    sa.Column('first_funder', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal', AMOUNT, nullable=False),
    sa.Column('fee', AMOUNT, nullable=False),
    sa.Column('subsidy', AMOUNT, nullable=False),
    sa.Column('subsidy_by', sa.String(length=16), nullable=True),
    sa.Column('subsidy_payer', sa.String(length=200), nullable=True),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('term_rate', AMOUNT, nullable=False),
    sa.Column('price', AMOUNT, nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('over_capacity', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('repurchased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('repurchase_price', AMOUNT, nullable=True),
    sa.Column('package_id', sa.String(length=200), nullable=True),
    sa.Column('financed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('financed', 'repaid', 'refunded', 'collections', 'packaged', 'sold')", name='ck_funding_asset_status'),
    sa.PrimaryKeyConstraint('order_id'),
    sa.UniqueConstraint('key', name='uq_funding_asset_key')
    )
    with op.batch_alter_table('funding_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_asset_funder'), ['funder'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_asset_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_asset_user_id'), ['user_id'], unique=False)

    op.create_table('funding_bill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal', AMOUNT, nullable=False),
    sa.Column('fee', AMOUNT, nullable=False),
    sa.Column('penalty', AMOUNT, nullable=False),
    sa.Column('principal_paid', AMOUNT, nullable=False),
    sa.Column('fee_paid', AMOUNT, nullable=False),
    sa.Column('fee_waived', AMOUNT, nullable=False),
    sa.Column('penalty_paid', AMOUNT, nullable=False),
    sa.Column('penalty_through', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('open', 'paid', 'closed')", name='ck_funding_bill_status'),
    sa.CheckConstraint('fee_paid + fee_waived <= fee', name='ck_funding_bill_fee'),
    sa.CheckConstraint('penalty_paid <= penalty', name='ck_funding_bill_penalty'),
    sa.CheckConstraint('principal_paid <= principal', name='ck_funding_bill_principal'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'number', name='uq_funding_bill_period')
    )
    with op.batch_alter_table('funding_bill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_bill_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_bill_user_id'), ['user_id'], unique=False)

    op.create_table('funding_funder',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('capital', AMOUNT, nullable=False),
    sa.Column('outstanding', AMOUNT, nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('price', AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('direct_lending', 'trust', 'factoring', 'self_held')", name='ck_funding_funder_kind'),
    sa.CheckConstraint("status in ('active', 'paused')", name='ck_funding_funder_status'),
    sa.CheckConstraint('outstanding >= 0', name='ck_funding_funder_outstanding'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('funding_package',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('face_value', AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('buyer', sa.String(length=200), nullable=True),
    sa.Column('proceeds', AMOUNT, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sold_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('open', 'sold')", name='ck_funding_package_status'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('funding_refund',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_table('funding_repayment',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('payoff', sa.Boolean(), nullable=False),
    sa.Column('allocation', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('funding_repayment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_repayment_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('funding_repayment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_repayment_order_id'))

    op.drop_table('funding_repayment')
    op.drop_table('funding_refund')
    op.drop_table('funding_package')
    op.drop_table('funding_funder')
    with op.batch_alter_table('funding_bill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_bill_user_id'))
        batch_op.drop_index(batch_op.f('ix_funding_bill_order_id'))

    op.drop_table('funding_bill')
    with op.batch_alter_table('funding_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_asset_user_id'))
        batch_op.drop_index(batch_op.f('ix_funding_asset_package_id'))
        batch_op.drop_index(batch_op.f('ix_funding_asset_funder'))

    op.drop_table('funding_asset')
