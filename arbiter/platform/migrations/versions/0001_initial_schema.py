"""The initial schema: every table of the platform modules, as `create_schema` makes them.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 13:22:57.401425
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# The column type of `arbiter.platform.promotions.models.Amount`, frozen here as it was at this
# revision: NUMERIC(20, 4) on PostgreSQL, whole ten-thousandths (an integer) on SQLite.
AMOUNT = sa.Numeric(precision=20, scale=4).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role <> 'merchant' OR shop IS NOT NULL", name='ck_api_keys_merchant_shop'),
    sa.CheckConstraint("role in ('service', 'operator', 'analyst', 'merchant', 'admin')", name='ck_api_keys_role'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)

    op.create_table('coupon_claim_count',
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('template', 'kind', 'holder')
    )
    op.create_table('coupon_template',
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('display', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('value', AMOUNT, nullable=True),
    sa.Column('percent', AMOUNT, nullable=True),
    sa.Column('cap', AMOUNT, nullable=True),
    sa.Column('threshold', AMOUNT, nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('days_after_claim', sa.Integer(), nullable=True),
    sa.Column('claim_limit', sa.Integer(), nullable=True),
    sa.Column('device_limit', sa.Integer(), nullable=True),
    sa.Column('stock_total', sa.Integer(), nullable=True),
    sa.Column('stock_issued', sa.Integer(), nullable=False),
    sa.Column('promotion', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('shop', 'platform', 'new_user')", name='ck_coupon_template_kind'),
    sa.CheckConstraint('(value IS NULL) <> (percent IS NULL)', name='ck_coupon_template_value'),
    sa.CheckConstraint('stock_total IS NULL OR stock_issued <= stock_total', name='ck_coupon_template_stock'),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('decision_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scene', sa.String(length=200), nullable=False),
    sa.Column('ruleset_version', sa.Integer(), nullable=True),
    sa.Column('ruleset_hash', sa.String(length=64), nullable=False),
    sa.Column('strategy', sa.String(length=200), nullable=True),
    sa.Column('experiment', sa.String(length=200), nullable=True),
    sa.Column('variant', sa.String(length=200), nullable=True),
    sa.Column('input_digest', sa.String(length=64), nullable=False),
    sa.Column('effects', sa.Text(), nullable=False),
    sa.Column('fired', sa.Text(), nullable=False),
    sa.Column('latency_us', sa.Float(), nullable=False),
    sa.Column('failed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.create_index('ix_decision_log_experiment_variant', ['experiment', 'variant'], unique=False)
        batch_op.create_index('ix_decision_log_scene_at', ['scene', 'at'], unique=False)

    op.create_table('experiment_assignment',
    sa.Column('experiment', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('experiment', 'unit')
    )
    op.create_table('experiment_conversion',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('experiment_conversion', schema=None) as batch_op:
        batch_op.create_index('ix_experiment_conversion_unit_at', ['unit', 'at'], unique=False)

    op.create_table('experiment_exposure',
    sa.Column('experiment', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('experiment', 'unit', 'day')
    )
    op.create_table('experiment_state',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('why', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('experiment_state_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('why', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('experiment_state_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_state_change_name'), ['name'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_expires_at'), ['expires_at'], unique=False)

    op.create_table('promotion_budget',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', AMOUNT, nullable=False),
    sa.Column('used', AMOUNT, nullable=False),
    sa.Column('last_grant', AMOUNT, nullable=False),
    sa.Column('uses_total', sa.Integer(), nullable=True),
    sa.Column('uses_used', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('used >= 0', name='ck_promotion_budget_used'),
    sa.CheckConstraint('uses_used >= 0', name='ck_promotion_budget_uses_used'),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('promotion_lifecycle',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state in ('draft', 'submitted', 'approved', 'paused', 'ended')", name='ck_promotion_lifecycle_state'),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('promotion_operation',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('promotion_order',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holds', sa.Text(), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('placing', 'placed', 'confirmed', 'cancelled')", name='ck_promotion_order_status'),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_table('promotion_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion', sa.String(length=200), nullable=False),
    sa.Column('shop', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('registered_by', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status in ('pending', 'approved', 'rejected', 'withdrawn')", name='ck_promotion_registration_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('promotion', 'shop', 'sku', name='uq_promotion_registration')
    )
    with op.batch_alter_table('promotion_registration', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_registration_status', ['promotion', 'status'], unique=False)

    op.create_table('promotion_reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('requested', AMOUNT, nullable=False),
    sa.Column('granted', AMOUNT, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('reserved', 'confirmed', 'released')", name='ck_promotion_reservation_status'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('promotion', 'order_id', name='uq_promotion_reservation_order')
    )
    op.create_table('promotion_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('promotion_transition', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_transition_promotion', ['promotion', 'id'], unique=False)

    op.create_table('promotion_usage',
    sa.Column('promotion', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.CheckConstraint('count >= 0', name='ck_promotion_usage_count'),
    sa.PrimaryKeyConstraint('promotion', 'kind', 'subject', 'period')
    )
    op.create_table('risk_list_entry',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', 'value')
    )
    op.create_table('ruleset_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rollback_of', sa.Integer(), nullable=True),
    sa.CheckConstraint("status in ('draft', 'published', 'archived')", name='ck_ruleset_versions_status'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ruleset_versions_number'), ['number'], unique=True)
        batch_op.create_index('uq_ruleset_versions_one_published', ['status'], unique=True, sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"))

    op.create_table('coupon',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('available', 'reserved', 'redeemed', 'expired', 'returned')", name='ck_coupon_status'),
    sa.ForeignKeyConstraint(['template'], ['coupon_template.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_coupon_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_coupon_user_status', ['user', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_user_status')
        batch_op.drop_index('ix_coupon_status_expires')
        batch_op.drop_index(batch_op.f('ix_coupon_order_id'))

    op.drop_table('coupon')
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_ruleset_versions_one_published', sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"))
        batch_op.drop_index(batch_op.f('ix_ruleset_versions_number'))

    op.drop_table('ruleset_versions')
    op.drop_table('risk_list_entry')
    op.drop_table('promotion_usage')
    with op.batch_alter_table('promotion_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_transition_promotion')

    op.drop_table('promotion_transition')
    op.drop_table('promotion_reservation')
    with op.batch_alter_table('promotion_registration', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_registration_status')

    op.drop_table('promotion_registration')
    op.drop_table('promotion_order')
    op.drop_table('promotion_operation')
    op.drop_table('promotion_lifecycle')
    op.drop_table('promotion_budget')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_expires_at'))

    op.drop_table('idempotency_records')
    with op.batch_alter_table('experiment_state_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiment_state_change_name'))

    op.drop_table('experiment_state_change')
    op.drop_table('experiment_state')
    op.drop_table('experiment_exposure')
    with op.batch_alter_table('experiment_conversion', schema=None) as batch_op:
        batch_op.drop_index('ix_experiment_conversion_unit_at')

    op.drop_table('experiment_conversion')
    op.drop_table('experiment_assignment')
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_log_scene_at')
        batch_op.drop_index('ix_decision_log_experiment_variant')

    op.drop_table('decision_log')
    op.drop_table('coupon_template')
    op.drop_table('coupon_claim_count')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_at')

    op.drop_table('audit_log')
    op.drop_table('api_keys')
