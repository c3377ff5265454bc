"""Merchants and settlement: merchants, their changes, ratings and scores; settlement
lines, cycles, statements and withdrawals; and the term of an order paid in installments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 03:43:34.161146
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | None = None
depends_on: str | None = None

# `arbiter.platform.columns.Amount` frozen as at this revision (see 0001).
AMOUNT = sa.Numeric(precision=20, scale=4).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table('merchant_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant', sa.String(length=200), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('merchant_change', schema=None) as batch_op:
        batch_op.create_index('ix_merchant_change_merchant', ['merchant', 'id'], unique=False)

    op.create_table('merchant_merchant',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('shop_name', sa.String(length=200), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('qualifications', sa.Text(), nullable=False),
    sa.Column('deposit', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('deposit > 0', name='ck_merchant_merchant_deposit'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shop', name='uq_merchant_merchant_shop')
    )
    op.create_table('merchant_rating',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stars >= 1 AND stars <= 5', name='ck_merchant_rating_stars'),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('merchant_rating', schema=None) as batch_op:
        batch_op.create_index('ix_merchant_rating_shop', ['shop', 'at'], unique=False)

    op.create_table('merchant_score',
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('score', AMOUNT, nullable=False),
    sa.Column('shipping_hours', AMOUNT, nullable=False),
    sa.Column('aftersales_rate', AMOUNT, nullable=False),
    sa.Column('rating', AMOUNT, nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('shipped', sa.Integer(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop')
    )
    op.create_table('settlement_cursor',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('after', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('settlement_entry',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('line_id', sa.String(length=200), nullable=True),
    sa.Column('sku', sa.String(length=200), nullable=True),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('base', AMOUNT, nullable=False),
    sa.Column('commission', AMOUNT, nullable=False),
    sa.Column('subsidy', AMOUNT, nullable=False),
    sa.Column('net', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('transfer', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('statement', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transfer', name='uq_settlement_entry_transfer')
    )
    with op.batch_alter_table('settlement_entry', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_entry_shop', ['shop', 'statement'], unique=False)

    op.create_table('settlement_event',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('settlement_line',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_id', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_paid', sa.Boolean(), nullable=False),
    sa.Column('rate', AMOUNT, nullable=False),
    sa.Column('base', AMOUNT, nullable=False),
    sa.Column('commission', AMOUNT, nullable=False),
    sa.Column('paid', AMOUNT, nullable=False),
    sa.Column('subsidy', AMOUNT, nullable=False),
    sa.Column('channel', AMOUNT, nullable=False),
    sa.Column('refunded_units', sa.Integer(), nullable=False),
    sa.Column('refunded_base', AMOUNT, nullable=False),
    sa.Column('refunded_commission', AMOUNT, nullable=False),
    sa.Column('refunded_subsidy', AMOUNT, nullable=False),
    sa.Column('refunded_paid', AMOUNT, nullable=False),
    sa.Column('refunded_channel', AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('statement', sa.String(length=200), nullable=True),
    sa.CheckConstraint('refunded_base <= base AND refunded_commission <= commission AND refunded_subsidy <= subsidy AND refunded_paid <= paid AND refunded_channel <= channel', name='ck_settlement_line_refunded'),
    sa.CheckConstraint('refunded_units <= quantity', name='ck_settlement_line_units'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('settlement_line', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_line_order', ['order_id'], unique=False)
        batch_op.create_index('ix_settlement_line_shop', ['shop', 'status', 'due_at'], unique=False)

    op.create_table('settlement_rate',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('rate', AMOUNT, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rate >= 0', name='ck_settlement_rate_range'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('settlement_shop',
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('cycle_days', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cycle_days >= 0', name='ck_settlement_shop_cycle'),
    sa.PrimaryKeyConstraint('shop')
    )
    op.create_table('settlement_statement',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('opening', AMOUNT, nullable=False),
    sa.Column('goods', AMOUNT, nullable=False),
    sa.Column('commission', AMOUNT, nullable=False),
    sa.Column('subsidy', AMOUNT, nullable=False),
    sa.Column('refunds', AMOUNT, nullable=False),
    sa.Column('deposit', AMOUNT, nullable=False),
    sa.Column('withdrawals', AMOUNT, nullable=False),
    sa.Column('adjustments', AMOUNT, nullable=False),
    sa.Column('closing', AMOUNT, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('settlement_statement', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_statement_shop', ['shop', 'cycle'], unique=False)

    op.create_table('settlement_withdrawal',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name='ck_settlement_withdrawal_amount'),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('settlement_withdrawal', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_withdrawal_shop', ['shop'], unique=False)

    with op.batch_alter_table('order_parent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('installments', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('order_parent', schema=None) as batch_op:
        batch_op.drop_column('installments')

    with op.batch_alter_table('settlement_withdrawal', schema=None) as batch_op:
        batch_op.drop_index('ix_settlement_withdrawal_shop')

    op.drop_table('settlement_withdrawal')
    with op.batch_alter_table('settlement_statement', schema=None) as batch_op:
        batch_op.drop_index('ix_settlement_statement_shop')

    op.drop_table('settlement_statement')
    op.drop_table('settlement_shop')
    op.drop_table('settlement_rate')
    with op.batch_alter_table('settlement_line', schema=None) as batch_op:
        batch_op.drop_index('ix_settlement_line_shop')
        batch_op.drop_index('ix_settlement_line_order')

    op.drop_table('settlement_line')
    op.drop_table('settlement_event')
    with op.batch_alter_table('settlement_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_settlement_entry_shop')

    op.drop_table('settlement_entry')
    op.drop_table('settlement_cursor')
    op.drop_table('merchant_score')
    with op.batch_alter_table('merchant_rating', schema=None) as batch_op:
        batch_op.drop_index('ix_merchant_rating_shop')

    op.drop_table('merchant_rating')
    op.drop_table('merchant_merchant')
    with op.batch_alter_table('merchant_change', schema=None) as batch_op:
        batch_op.drop_index('ix_merchant_change_merchant')

    op.drop_table('merchant_change')
