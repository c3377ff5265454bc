"""The golden flow (catalog, inventory, suppliers, users, cart, orders, payments, fulfilment,
after-sales), the events outbox, the ledger, credit and the risk review queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 00:24:42.103213
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | None = None
depends_on: str | None = None

# `arbiter.platform.columns.Amount` frozen as at this revision (see 0001).
AMOUNT = sa.Numeric(precision=20, scale=4).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table('aftersales_case',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('return_carrier', sa.String(length=200), nullable=True),
    sa.Column('return_tracking', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('refund_before_shipment', 'return', 'exchange', 'refund_only')", name='ck_aftersales_case_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'key', name='uq_aftersales_case_key')
    )
    with op.batch_alter_table('aftersales_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aftersales_case_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_aftersales_case_shop_status', ['shop', 'status'], unique=False)

    op.create_table('aftersales_invoice',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('tax_id', sa.String(length=32), nullable=True),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id'),
    sa.UniqueConstraint('number')
    )
    op.create_table('aftersales_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=True),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_aftersales_refund_key')
    )
    with op.batch_alter_table('aftersales_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aftersales_refund_order_id'), ['order_id'], unique=False)

    op.create_table('aftersales_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=False),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('aftersales_step', schema=None) as batch_op:
        batch_op.create_index('ix_aftersales_step_case', ['case_id', 'id'], unique=False)

    op.create_table('cart_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'sku', name='uq_cart_item')
    )
    with op.batch_alter_table('cart_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_item_user_id'), ['user_id'], unique=False)

    op.create_table('catalog_brand',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('catalog_category',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['parent'], ['catalog_category.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('catalog_sale',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('catalog_selection',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('sort_by', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.CheckConstraint('size > 0', name='ck_catalog_selection_size'),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('credit_application',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_limit', AMOUNT, nullable=True),
    sa.Column('tier', sa.String(length=1), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.String(length=1000), nullable=False),
    sa.Column('ruleset_hash', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('approved', 'review', 'rejected')", name='ck_credit_application_status'),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('credit_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_application_user_id'), ['user_id'], unique=False)

    op.create_table('credit_draw',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('special_line_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal', AMOUNT, nullable=False),
    sa.Column('restored', AMOUNT, nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('term_rate', AMOUNT, nullable=False),
    sa.Column('fee', AMOUNT, nullable=False),
    sa.Column('subsidy', AMOUNT, nullable=False),
    sa.Column('subsidy_by', sa.String(length=16), nullable=True),
    sa.Column('subsidy_payer', sa.String(length=200), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('restored <= principal', name='ck_credit_draw_principal'),
    sa.CheckConstraint('restored >= 0', name='ck_credit_draw_restored'),
    sa.PrimaryKeyConstraint('order_id'),
    sa.UniqueConstraint('key', name='uq_credit_draw_key')
    )
    with op.batch_alter_table('credit_draw', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_draw_user_id'), ['user_id'], unique=False)

    op.create_table('credit_limit_change',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('before', AMOUNT, nullable=False),
    sa.Column('after', AMOUNT, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('credit_limit_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_limit_change_user_id'), ['user_id'], unique=False)

    op.create_table('credit_line',
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_limit', AMOUNT, nullable=False),
    sa.Column('used', AMOUNT, nullable=False),
    sa.Column('tier', sa.String(length=1), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('overdue_days', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('active', 'frozen', 'closed')", name='ck_credit_line_status'),
    sa.CheckConstraint('used <= credit_limit', name='ck_credit_line_limit'),
    sa.CheckConstraint('used >= 0', name='ck_credit_line_used'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('credit_restore',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('credit_restore', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_restore_order_id'), ['order_id'], unique=False)

    op.create_table('credit_special_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('scope_kind', sa.String(length=16), nullable=False),
    sa.Column('scope_value', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_limit', AMOUNT, nullable=False),
    sa.Column('used', AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("scope_kind in ('scene', 'category')", name='ck_credit_special_line_kind'),
    sa.CheckConstraint('used <= credit_limit', name='ck_credit_special_line_limit'),
    sa.CheckConstraint('used >= 0', name='ck_credit_special_line_used'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'scope_kind', 'scope_value', name='uq_credit_special_line_scope')
    )
    with op.batch_alter_table('credit_special_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_special_line_user_id'), ['user_id'], unique=False)

    op.create_table('fulfillment_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shipment_id', 'key', name='uq_fulfillment_event')
    )
    with op.batch_alter_table('fulfillment_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fulfillment_event_shipment_id'), ['shipment_id'], unique=False)

    op.create_table('fulfillment_shipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=80), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('carrier', sa.String(length=200), nullable=True),
    sa.Column('tracking_no', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'route', 'purpose', name='uq_fulfillment_shipment')
    )
    with op.batch_alter_table('fulfillment_shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fulfillment_shipment_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_fulfillment_shipment_tracking', ['carrier', 'tracking_no'], unique=False)

    op.create_table('inventory_lock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_id', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state in ('locked', 'released', 'deducted', 'returned')", name='ck_inventory_lock_state'),
    sa.CheckConstraint('quantity > 0', name='ck_inventory_lock_quantity'),
    sa.CheckConstraint('returned >= 0 AND returned <= quantity', name='ck_inventory_lock_returned'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'line_id', name='uq_inventory_lock_line')
    )
    with op.batch_alter_table('inventory_lock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_lock_order_id'), ['order_id'], unique=False)

    op.create_table('inventory_movement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('line_id', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind in ('receive', 'lock', 'release', 'deduct', 'restock')", name='ck_inventory_movement_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_inventory_movement_key')
    )
    with op.batch_alter_table('inventory_movement', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_movement_sku', ['sku', 'warehouse'], unique=False)

    op.create_table('inventory_warehouse',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region', sa.String(length=200), nullable=False),
    sa.Column('serves', sa.Text(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('ledger_account',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('normal', sa.String(length=6), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('floor', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('debits_posted', AMOUNT, nullable=False),
    sa.Column('credits_posted', AMOUNT, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("NOT floor OR (normal = 'credit' AND credits_posted >= debits_posted) OR (normal = 'debit' AND debits_posted >= credits_posted)", name='ck_ledger_account_floor'),
    sa.CheckConstraint("normal in ('debit', 'credit')", name='ck_ledger_account_normal'),
    sa.CheckConstraint('debits_posted >= 0 AND credits_posted >= 0', name='ck_ledger_account_posted'),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_account_owner', ['owner'], unique=False)

    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', AMOUNT, nullable=False),
    sa.Column('list_total', AMOUNT, nullable=False),
    sa.Column('payable', AMOUNT, nullable=False),
    sa.Column('unit_payables', sa.Text(), nullable=False),
    sa.Column('allocations', sa.Text(), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=True),
    sa.Column('refunded_units', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'line_id', name='uq_order_line')
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_order_id'), ['order_id'], unique=False)

    op.create_table('order_order',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('list_total', AMOUNT, nullable=False),
    sa.Column('discount', AMOUNT, nullable=False),
    sa.Column('payable', AMOUNT, nullable=False),
    sa.Column('refunded', AMOUNT, nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('region', sa.String(length=200), nullable=True),
    sa.Column('recharge_account', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('created', 'paid', 'shipped', 'delivered', 'fulfilled', 'completed', 'cancelled', 'closed')", name='ck_order_order_status'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_order', schema=None) as batch_op:
        batch_op.create_index('ix_order_order_parent', ['parent_id'], unique=False)
        batch_op.create_index('ix_order_order_shop_status', ['shop', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_order_user_id'), ['user_id'], unique=False)

    op.create_table('order_parent',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payable', AMOUNT, nullable=False),
    sa.Column('payment_method', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('order_parent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_parent_user_id'), ['user_id'], unique=False)

    op.create_table('order_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_transition', schema=None) as batch_op:
        batch_op.create_index('ix_order_transition_order', ['order_id', 'id'], unique=False)

    op.create_table('payments_payment',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('open_order', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('verification', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.String(length=200), nullable=True),
    sa.Column('channel_ref', sa.String(length=200), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('refunded', AMOUNT, nullable=False),
    sa.Column('effects', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('refused', 'review', 'verifying', 'ready', 'pending', 'succeeded', 'failed', 'cancelled')", name='ck_payments_payment_status'),
    sa.CheckConstraint("verification in ('none', 'password', 'sms', 'face', 'fingerprint')", name='ck_payments_payment_verification'),
    sa.CheckConstraint('amount > 0', name='ck_payments_payment_amount'),
    sa.CheckConstraint('failed_attempts >= 0', name='ck_payments_payment_attempts'),
    sa.CheckConstraint('refunded >= 0 AND refunded <= amount', name='ck_payments_payment_refunded'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_order', name='uq_payments_payment_open_order'),
    sa.UniqueConstraint('user_id', 'key', name='uq_payments_payment_key')
    )
    with op.batch_alter_table('payments_payment', schema=None) as batch_op:
        batch_op.create_index('ix_payments_payment_order', ['order_id', 'created_at'], unique=False)

    op.create_table('platform_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_platform_event_key')
    )
    with op.batch_alter_table('platform_event', schema=None) as batch_op:
        batch_op.create_index('ix_platform_event_kind_id', ['kind', 'id'], unique=False)
        batch_op.create_index('ix_platform_event_subject', ['subject'], unique=False)

    op.create_table('risk_review_case',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('scene', sa.String(length=100), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('effects', sa.Text(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("status in ('open', 'approved', 'rejected', 'expired')", name='ck_risk_review_case_status'),
    sa.CheckConstraint("subject_kind in ('order', 'payment', 'withdrawal', 'registration', 'credit_application')", name='ck_risk_review_case_subject_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_risk_review_case_key')
    )
    with op.batch_alter_table('risk_review_case', schema=None) as batch_op:
        batch_op.create_index('ix_risk_review_case_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_risk_review_case_subject', ['subject_kind', 'subject_id'], unique=False)

    op.create_table('supplier',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('settlement_days', sa.Integer(), nullable=False),
    sa.Column('price_terms', sa.Text(), nullable=False),
    sa.Column('cost_rate', AMOUNT, nullable=False),
    sa.Column('onboarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('stock_purchase', 'dropship', 'realtime_api')", name='ck_supplier_kind'),
    sa.CheckConstraint("status in ('active', 'suspended')", name='ck_supplier_status'),
    sa.CheckConstraint('settlement_days >= 0', name='ck_supplier_settlement_days'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('user_account',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=200), nullable=True),
    sa.Column('nickname', sa.String(length=200), nullable=False),
    sa.Column('real_name_masked', sa.String(length=200), nullable=True),
    sa.Column('real_name_digest', sa.String(length=64), nullable=True),
    sa.Column('id_number_masked', sa.String(length=18), nullable=True),
    sa.Column('id_number_digest', sa.String(length=64), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('phone_verified', sa.Boolean(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('active', 'review', 'refused', 'cancelled')", name='ck_user_account_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone')
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_id_number_digest', ['id_number_digest'], unique=False)

    op.create_table('user_address',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('region', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_address_user_id'), ['user_id'], unique=False)

    op.create_table('user_bank_card',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('masked', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'digest', name='uq_user_bank_card_digest')
    )
    with op.batch_alter_table('user_bank_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_bank_card_user_id'), ['user_id'], unique=False)

    op.create_table('user_challenge',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('code_salt', sa.String(length=64), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('context', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("purpose in ('login', 'phone')", name='ck_user_challenge_purpose'),
    sa.CheckConstraint("status in ('open', 'done', 'failed', 'expired')", name='ck_user_challenge_status'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_challenge_user_id'), ['user_id'], unique=False)

    op.create_table('user_device',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'device')
    )
    op.create_table('user_login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_user_login_failure_user_at', ['user_id', 'at'], unique=False)

    op.create_table('user_order_fact',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('refunded', AMOUNT, nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('user_order_fact', schema=None) as batch_op:
        batch_op.create_index('ix_user_order_fact_user', ['user_id', 'ordered_at'], unique=False)

    op.create_table('user_sms_outbox',
    sa.Column('challenge_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('phone_masked', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('challenge_id')
    )
    with op.batch_alter_table('user_sms_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sms_outbox_user_id'), ['user_id'], unique=False)

    op.create_table('user_tag',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('tag', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('user_id', 'tag')
    )
    with op.batch_alter_table('user_tag', schema=None) as batch_op:
        batch_op.create_index('ix_user_tag_expires', ['expires_at'], unique=False)

    op.create_table('user_tag_cursor',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('catalog_spu',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=200), nullable=False),
    sa.Column('brand', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('images', sa.Text(), nullable=False),
    sa.Column('specs', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['brand'], ['catalog_brand.code'], ),
    sa.ForeignKeyConstraint(['category'], ['catalog_category.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalog_spu', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_spu_shop', ['shop'], unique=False)

    op.create_table('inventory_stock',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=200), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Integer(), nullable=False),
    sa.CheckConstraint('locked <= on_hand', name='ck_inventory_stock_locked_le_on_hand'),
    sa.CheckConstraint('locked >= 0', name='ck_inventory_stock_locked'),
    sa.CheckConstraint('on_hand >= 0', name='ck_inventory_stock_on_hand'),
    sa.ForeignKeyConstraint(['warehouse'], ['inventory_warehouse.code'], ),
    sa.PrimaryKeyConstraint('sku', 'warehouse')
    )
    op.create_table('ledger_transfer',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('debit_account', sa.String(length=200), nullable=False),
    sa.Column('credit_account', sa.String(length=200), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('batch', sa.String(length=200), nullable=True),
    sa.Column('reverses', sa.String(length=200), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name='ck_ledger_transfer_amount'),
    sa.CheckConstraint('debit_account <> credit_account', name='ck_ledger_transfer_accounts'),
    sa.ForeignKeyConstraint(['credit_account'], ['ledger_account.code'], ),
    sa.ForeignKeyConstraint(['debit_account'], ['ledger_account.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reverses', name='uq_ledger_transfer_reverses'),
    sa.UniqueConstraint('seq', name='uq_ledger_transfer_seq')
    )
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transfer_batch', ['batch'], unique=False)
        batch_op.create_index('ix_ledger_transfer_credit', ['credit_account', 'seq'], unique=False)
        batch_op.create_index('ix_ledger_transfer_debit', ['debit_account', 'seq'], unique=False)
        batch_op.create_index('ix_ledger_transfer_ref', ['ref'], unique=False)

    op.create_table('payments_refund',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refund_reason', sa.String(length=500), nullable=False),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('channel_ref', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('pending', 'succeeded', 'failed', 'refused')", name='ck_payments_refund_status'),
    sa.CheckConstraint('amount > 0', name='ck_payments_refund_amount'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments_payment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payment_id', 'key', name='uq_payments_refund_key')
    )
    with op.batch_alter_table('payments_refund', schema=None) as batch_op:
        batch_op.create_index('ix_payments_refund_order', ['order_id'], unique=False)

    op.create_table('risk_review_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['risk_review_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_review_action', schema=None) as batch_op:
        batch_op.create_index('ix_risk_review_action_case', ['case_id', 'id'], unique=False)

    op.create_table('supplier_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit_cost', AMOUNT, nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('purchase_order', 'dropship', 'realtime')", name='ck_supplier_cost_kind'),
    sa.ForeignKeyConstraint(['supplier'], ['supplier.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_supplier_cost_key')
    )
    with op.batch_alter_table('supplier_cost', schema=None) as batch_op:
        batch_op.create_index('ix_supplier_cost_supplier_day', ['supplier', 'day'], unique=False)

    op.create_table('supplier_dropship_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('carrier', sa.String(length=200), nullable=True),
    sa.Column('tracking_no', sa.String(length=200), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('pushed', 'shipped')", name='ck_supplier_dropship_status'),
    sa.ForeignKeyConstraint(['supplier'], ['supplier.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'supplier', name='uq_supplier_dropship_order')
    )
    with op.batch_alter_table('supplier_dropship_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_dropship_request_order_id'), ['order_id'], unique=False)

    op.create_table('supplier_purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('created', 'received')", name='ck_supplier_purchase_order_status'),
    sa.ForeignKeyConstraint(['supplier'], ['supplier.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('supplier_realtime_purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('account', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', AMOUNT, nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status in ('pending', 'succeeded', 'failed')", name='ck_supplier_realtime_status'),
    sa.ForeignKeyConstraint(['supplier'], ['supplier.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'attempt', name='uq_supplier_realtime_attempt'),
    sa.UniqueConstraint('request_id', name='uq_supplier_realtime_request')
    )
    with op.batch_alter_table('supplier_realtime_purchase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_realtime_purchase_order_id'), ['order_id'], unique=False)

    op.create_table('catalog_sku',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('spu', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('specs', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('list_price', AMOUNT, nullable=False),
    sa.Column('sale_price', AMOUNT, nullable=False),
    sa.Column('cost', AMOUNT, nullable=False),
    sa.Column('is_virtual', sa.Boolean(), nullable=False),
    sa.Column('is_dropship', sa.Boolean(), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('max_per_user', sa.Integer(), nullable=True),
    sa.Column('allowed_regions', sa.Text(), nullable=False),
    sa.Column('below_cost_approved_by', sa.String(length=200), nullable=True),
    sa.Column('below_cost_approved_why', sa.Text(), nullable=True),
    sa.Column('below_cost_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sales', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unpublished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('draft', 'published', 'unpublished')", name='ck_catalog_sku_status'),
    sa.CheckConstraint('max_per_user IS NULL OR max_per_user > 0', name='ck_catalog_sku_max_per_user'),
    sa.CheckConstraint('sale_price <= list_price', name='ck_catalog_sku_sale_le_list'),
    sa.CheckConstraint('sale_price > 0 AND list_price > 0 AND cost >= 0', name='ck_catalog_sku_prices'),
    sa.CheckConstraint('sales >= 0', name='ck_catalog_sku_sales'),
    sa.ForeignKeyConstraint(['spu'], ['catalog_spu.id'], ),
    sa.PrimaryKeyConstraint('sku')
    )
    with op.batch_alter_table('catalog_sku', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_sku_shop_status', ['shop', 'status'], unique=False)
        batch_op.create_index('ix_catalog_sku_spu', ['spu'], unique=False)

    op.create_table('supplier_purchase_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', AMOUNT, nullable=False),
    sa.CheckConstraint('quantity > 0', name='ck_supplier_purchase_line_quantity'),
    sa.ForeignKeyConstraint(['purchase_order'], ['supplier_purchase_order.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('purchase_order', 'line_no', name='uq_supplier_purchase_line')
    )


def downgrade() -> None:
    op.drop_table('supplier_purchase_line')
    with op.batch_alter_table('catalog_sku', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_sku_spu')
        batch_op.drop_index('ix_catalog_sku_shop_status')

    op.drop_table('catalog_sku')
    with op.batch_alter_table('supplier_realtime_purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_realtime_purchase_order_id'))

    op.drop_table('supplier_realtime_purchase')
    op.drop_table('supplier_purchase_order')
    with op.batch_alter_table('supplier_dropship_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_dropship_request_order_id'))

    op.drop_table('supplier_dropship_request')
    with op.batch_alter_table('supplier_cost', schema=None) as batch_op:
        batch_op.drop_index('ix_supplier_cost_supplier_day')

    op.drop_table('supplier_cost')
    with op.batch_alter_table('risk_review_action', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_review_action_case')

    op.drop_table('risk_review_action')
    with op.batch_alter_table('payments_refund', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_refund_order')

    op.drop_table('payments_refund')
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transfer_ref')
        batch_op.drop_index('ix_ledger_transfer_debit')
        batch_op.drop_index('ix_ledger_transfer_credit')
        batch_op.drop_index('ix_ledger_transfer_batch')

    op.drop_table('ledger_transfer')
    op.drop_table('inventory_stock')
    with op.batch_alter_table('catalog_spu', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_spu_shop')

    op.drop_table('catalog_spu')
    op.drop_table('user_tag_cursor')
    with op.batch_alter_table('user_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_user_tag_expires')

    op.drop_table('user_tag')
    with op.batch_alter_table('user_sms_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sms_outbox_user_id'))

    op.drop_table('user_sms_outbox')
    with op.batch_alter_table('user_order_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_user_order_fact_user')

    op.drop_table('user_order_fact')
    with op.batch_alter_table('user_login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_user_login_failure_user_at')

    op.drop_table('user_login_failure')
    op.drop_table('user_device')
    with op.batch_alter_table('user_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_challenge_user_id'))

    op.drop_table('user_challenge')
    with op.batch_alter_table('user_bank_card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_bank_card_user_id'))

    op.drop_table('user_bank_card')
    with op.batch_alter_table('user_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_address_user_id'))

    op.drop_table('user_address')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_id_number_digest')

    op.drop_table('user_account')
    op.drop_table('supplier')
    with op.batch_alter_table('risk_review_case', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_review_case_subject')
        batch_op.drop_index('ix_risk_review_case_status_due')

    op.drop_table('risk_review_case')
    with op.batch_alter_table('platform_event', schema=None) as batch_op:
        batch_op.drop_index('ix_platform_event_subject')
        batch_op.drop_index('ix_platform_event_kind_id')

    op.drop_table('platform_event')
    with op.batch_alter_table('payments_payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_payment_order')

    op.drop_table('payments_payment')
    with op.batch_alter_table('order_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_order_transition_order')

    op.drop_table('order_transition')
    with op.batch_alter_table('order_parent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_parent_user_id'))

    op.drop_table('order_parent')
    with op.batch_alter_table('order_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_order_user_id'))
        batch_op.drop_index('ix_order_order_shop_status')
        batch_op.drop_index('ix_order_order_parent')

    op.drop_table('order_order')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_order_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_account_owner')

    op.drop_table('ledger_account')
    op.drop_table('inventory_warehouse')
    with op.batch_alter_table('inventory_movement', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_movement_sku')

    op.drop_table('inventory_movement')
    with op.batch_alter_table('inventory_lock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_lock_order_id'))

    op.drop_table('inventory_lock')
    with op.batch_alter_table('fulfillment_shipment', schema=None) as batch_op:
        batch_op.drop_index('ix_fulfillment_shipment_tracking')
        batch_op.drop_index(batch_op.f('ix_fulfillment_shipment_order_id'))

    op.drop_table('fulfillment_shipment')
    with op.batch_alter_table('fulfillment_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fulfillment_event_shipment_id'))

    op.drop_table('fulfillment_event')
    with op.batch_alter_table('credit_special_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_special_line_user_id'))

    op.drop_table('credit_special_line')
    with op.batch_alter_table('credit_restore', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_restore_order_id'))

    op.drop_table('credit_restore')
    op.drop_table('credit_line')
    with op.batch_alter_table('credit_limit_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_limit_change_user_id'))

    op.drop_table('credit_limit_change')
    with op.batch_alter_table('credit_draw', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_draw_user_id'))

    op.drop_table('credit_draw')
    with op.batch_alter_table('credit_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_application_user_id'))

    op.drop_table('credit_application')
    op.drop_table('catalog_selection')
    op.drop_table('catalog_sale')
    op.drop_table('catalog_category')
    op.drop_table('catalog_brand')
    with op.batch_alter_table('cart_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_item_user_id'))

    op.drop_table('cart_item')
    with op.batch_alter_table('aftersales_step', schema=None) as batch_op:
        batch_op.drop_index('ix_aftersales_step_case')

    op.drop_table('aftersales_step')
    with op.batch_alter_table('aftersales_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_aftersales_refund_order_id'))

    op.drop_table('aftersales_refund')
    op.drop_table('aftersales_invoice')
    with op.batch_alter_table('aftersales_case', schema=None) as batch_op:
        batch_op.drop_index('ix_aftersales_case_shop_status')
        batch_op.drop_index(batch_op.f('ix_aftersales_case_order_id'))

    op.drop_table('aftersales_case')
