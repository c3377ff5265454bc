"""What a merchant does for its shop (商家后台): the platform's own abilities cut down to one
shop. Its goods and stock, its promotions and shop coupons and the goods it registers into
platform promotions, its orders and their shipping, its after-sales cases, its settlement
statements, balances and withdrawals, and its statistics.

Every use case takes a `MerchantActor`, made by `acting` from the merchant's id: the shop
is read from the merchant's record, never taken from the caller. Each one checks here, in
the service, that what it reads or changes is that shop's: another shop's goods, orders,
cases, promotions, templates and statements are NotFound, exactly as if they did not exist.
A restricted shop may not publish, a suspended one may not sell (its goods are off sale);
orders, after-sales and money go on, so that customers are served and the shop settled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from arbiter.dsl.model import Program, Promotion
from arbiter.errors import Conflict, InvalidInput, NotFound
from arbiter.money import Money
from arbiter.platform.aftersales import service as aftersales
from arbiter.platform.aftersales.service import CaseView
from arbiter.platform.catalog import service as catalog
from arbiter.platform.catalog.service import SkuSpec, SkuView, SpuSpec
from arbiter.platform.db import UnitOfWork
from arbiter.platform.fulfillment import service as fulfillment
from arbiter.platform.fulfillment.service import ShipmentView
from arbiter.platform.inventory import service as inventory
from arbiter.platform.ledger.values import check_name
from arbiter.platform.merchants import onboarding
from arbiter.platform.merchants.models import ACTIVE, RESTRICTED, SUSPENDED
from arbiter.platform.merchants.scores import Score, score_of
from arbiter.platform.orders import records, states
from arbiter.platform.orders.records import OrderView
from arbiter.platform.promotions import lifecycle, registration
from arbiter.platform.promotions import service as promotions
from arbiter.platform.promotions.coupons import SHOP, TemplateSpec
from arbiter.platform.promotions.lifecycle import Transition
from arbiter.platform.promotions.registration import Actor, Registration, RegistrationResult
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement import service as settlement

PROMOTION_ACTIONS = (lifecycle.SUBMIT, lifecycle.WITHDRAW, lifecycle.PAUSE, lifecycle.RESUME, lifecycle.END)


@dataclass(frozen=True)
class MerchantActor:
    """A merchant acting for its shop; `staff` is who, kept in the records as `by`."""

    merchant: str
    shop: str
    staff: str

    @property
    def by(self) -> str:
        return self.staff


def acting(uow: UnitOfWork, merchant_id: str, *, staff: str | None = None) -> MerchantActor:
    """The actor for `merchant_id`'s shop; its shop must be open (active, restricted or
    suspended)."""
    found = onboarding.merchant(uow, merchant_id)
    if not found.open:
        raise Conflict(f"merchant {merchant_id} is {found.status}: it has no open shop", code="merchants.state")
    return MerchantActor(found.id, found.shop, check_name(staff or found.id, "staff"))


def _may(uow: UnitOfWork, actor: MerchantActor, what: str) -> onboarding.MerchantView:
    """The merchant, when its status allows `what` (publishing or registering goods)."""
    found = onboarding.merchant(uow, actor.merchant)
    if found.status != ACTIVE:
        last = next((c.reason for c in reversed(onboarding.history(uow, found.id)) if c.to_status == found.status), "")
        cannot = {RESTRICTED: "is restricted: it cannot publish", SUSPENDED: "is suspended: it cannot sell"}.get(
            found.status, f"is {found.status}")
        raise Conflict(f"shop {found.shop} {cannot} ({what}); {last}".rstrip("; "), code=f"merchants.{found.status}")
    return found


# -- goods (商品) -----------------------------------------------------------------------------


def warehouse_of(shop: str) -> str:
    """The code of the shop's own warehouse (a merchant ships its goods itself)."""
    return f"{shop}:warehouse"


def _own_sku(uow: UnitOfWork, actor: MerchantActor, sku: str) -> SkuView:
    found = catalog.get_sku(uow, sku)
    if found is None or found.shop != actor.shop:
        raise NotFound(f"sku {sku!r} does not exist", code="catalog.sku.unknown")
    return found


def create_product(uow: UnitOfWork, actor: MerchantActor, spec: SpuSpec) -> str:
    """Create an SPU in the shop, in a category of the shop's scope. Commits."""
    if spec.shop != actor.shop:
        raise InvalidInput(f"shop: {spec.shop!r} is not the merchant's shop {actor.shop!r}")
    scope = onboarding.merchant(uow, actor.merchant).categories
    if spec.category not in scope:
        raise InvalidInput(f"category: {spec.category!r} is outside the shop's scope ({', '.join(scope)})")
    return catalog.create_spu(uow, spec)


def create_variant(uow: UnitOfWork, actor: MerchantActor, spec: SkuSpec) -> str:
    """Create a draft SKU of one of the shop's SPUs. Merchants ship their goods themselves:
    no dropship and no virtual goods. Commits."""
    if catalog.spu_shop(uow, spec.spu) != actor.shop:
        raise NotFound(f"spu: {spec.spu!r} does not exist", code="catalog.spu.unknown")
    if spec.shop not in (None, actor.shop):
        raise InvalidInput(f"shop: {spec.shop!r} is not the merchant's shop {actor.shop!r}")
    if spec.is_dropship or spec.is_virtual or spec.supplier is not None:
        raise InvalidInput("a merchant's goods ship from its own warehouse: no dropship, virtual goods or supplier")
    return catalog.create_sku(uow, replace(spec, shop=actor.shop))


def goods(uow: UnitOfWork, actor: MerchantActor, *, status: str | None = None) -> list[SkuView]:
    return catalog.list_skus(uow, shop=actor.shop, status=status)


def sku(uow: UnitOfWork, actor: MerchantActor, code: str) -> SkuView:
    return _own_sku(uow, actor, code)


def publish(uow: UnitOfWork, actor: MerchantActor, code: str, now: datetime) -> SkuView:
    """Put one of the shop's SKUs on sale (上架): only while the shop is active. Commits."""
    _own_sku(uow, actor, code)
    _may(uow, actor, f"publish {code}")
    catalog.publish(uow, code, now)
    return _own_sku(uow, actor, code)


def unpublish(uow: UnitOfWork, actor: MerchantActor, code: str, now: datetime) -> SkuView:
    """Take one of the shop's SKUs off sale (下架). Commits."""
    _own_sku(uow, actor, code)
    catalog.unpublish(uow, code, now)
    return _own_sku(uow, actor, code)


def open_warehouse(uow: UnitOfWork, actor: MerchantActor, *, name: str, region: str, serves: list[str]) -> str:
    """Open the shop's warehouse, delivering to `serves`; its code. Commits."""
    code = warehouse_of(actor.shop)
    inventory.add_warehouse(uow, code, name, region, serves)
    return code


def receive_stock(uow: UnitOfWork, actor: MerchantActor, code: str, quantity: int, *, key: str,
                  now: datetime) -> bool:
    """Put units of one of the shop's SKUs into its warehouse, once per `key` (the shop's
    own keys: another shop's same key is another receipt). Commits."""
    _own_sku(uow, actor, code)
    warehouse = warehouse_of(actor.shop)
    if inventory.get_warehouse(uow, warehouse) is None:
        raise NotFound(f"shop {actor.shop} has no warehouse yet: open it first", code="inventory.warehouse.unknown")
    received = inventory.receive(uow, code, warehouse, quantity, f"{actor.shop}:{check_name(key, 'key')}", now=now)
    uow.commit()
    return received


def stock(uow: UnitOfWork, actor: MerchantActor, code: str) -> tuple[int, int]:
    """(on hand, locked) of one of the shop's SKUs in its warehouse."""
    _own_sku(uow, actor, code)
    return inventory.stock_of(uow, code).get(warehouse_of(actor.shop), (0, 0))


# -- promotions (营销) ------------------------------------------------------------------------


def _own_promotion(program: Program, actor: MerchantActor, promotion: str) -> Promotion | None:
    p = program.promotions.get(promotion)
    return p if p is not None and p.shop == actor.shop else None


def shop_promotions(uow: UnitOfWork, actor: MerchantActor, program: Program, now: datetime) -> dict[str, str]:
    """The shop's promotions (declared with its `shop`) and the status of each."""
    statuses = lifecycle.statuses(uow, program, now)
    return {name: statuses.get(name, lifecycle.DRAFT) for name, p in sorted(program.promotions.items())
            if p.shop == actor.shop}


def promotion_action(uow: UnitOfWork, actor: MerchantActor, program: Program, promotion: str, action: str, *,
                     now: datetime, why: str = "") -> Transition:
    """Submit, withdraw, pause, resume or end one of the shop's promotions (the platform
    approves or rejects); refused as a value like any lifecycle move. Commits when it moved."""
    if action not in PROMOTION_ACTIONS:
        raise InvalidInput(f"action: {action!r} is not one of {', '.join(PROMOTION_ACTIONS)} (the platform reviews)")
    if _own_promotion(program, actor, promotion) is None:
        return Transition(promotion, action, lifecycle.DRAFT, lifecycle.UNKNOWN_PROMOTION)
    return lifecycle.transition(uow, program, promotion, action, by=actor.by, now=now, why=why)


def _shop_scope(actor: MerchantActor) -> str:
    return f"shop:{actor.shop}"


def define_coupon(uow: UnitOfWork, actor: MerchantActor, program: Program, spec: TemplateSpec,
                  now: datetime) -> TemplateSpec:
    """Define (or change) a shop coupon (店铺券) of the shop: kind `shop`, scope the shop; the
    promotions that use the template and the budget it draws on must be the shop's own.
    Commits."""
    if spec.kind != SHOP:
        raise InvalidInput(f"kind: a merchant defines shop coupons only, not {spec.kind!r}")
    if spec.scope not in ("all", _shop_scope(actor)):
        raise InvalidInput(f"scope: a shop coupon applies in its shop only ({_shop_scope(actor)!r})")
    users = [name for name, p in program.promotions.items() if p.template == spec.code]
    strangers = [name for name in users if _own_promotion(program, actor, name) is None]
    if strangers or (spec.promotion is not None and _own_promotion(program, actor, spec.promotion) is None):
        raise NotFound(f"template {spec.code!r}: no promotion of shop {actor.shop} uses it",
                       code="merchants.template.unknown")
    before = promotions.template(uow, spec.code)
    if before is not None and (before.kind, before.scope) != (SHOP, _shop_scope(actor)):
        raise Conflict(f"template {spec.code!r} is taken", code="merchants.template.taken")
    return promotions.define_template(uow, replace(spec, scope=_shop_scope(actor)), now)


def coupons(uow: UnitOfWork, actor: MerchantActor, program: Program) -> list[TemplateSpec]:
    """The shop coupons defined for the shop's promotions."""
    codes = sorted({p.template for p in program.promotions.values() if p.shop == actor.shop and p.template})
    found = [promotions.template(uow, code) for code in codes]
    return [t for t in found if t is not None and t.scope == _shop_scope(actor)]


def register_goods(uow: UnitOfWork, actor: MerchantActor, program: Program, promotion: str, code: str, *,
                   now: datetime) -> RegistrationResult:
    """Nominate one of the shop's SKUs into a platform promotion (商品提报), for the platform
    to review. Commits."""
    _own_sku(uow, actor, code)
    _may(uow, actor, f"register {code}")
    return registration.register(uow, program, promotion, actor.shop, code,
                                 actor=Actor.merchant(actor.by, actor.shop), now=now)


def withdraw_goods(uow: UnitOfWork, actor: MerchantActor, program: Program, promotion: str, code: str, *,
                   now: datetime) -> RegistrationResult:
    _own_sku(uow, actor, code)
    return registration.withdraw(uow, program, promotion, actor.shop, code,
                                 actor=Actor.merchant(actor.by, actor.shop), now=now)


def registrations(uow: UnitOfWork, actor: MerchantActor, promotion: str) -> list[Registration]:
    return registration.registrations(uow, promotion, shop=actor.shop)


# -- orders and after-sales (订单 / 售后) ------------------------------------------------------


def orders(uow: UnitOfWork, actor: MerchantActor, *, status: str | None = None) -> list[OrderView]:
    return records.orders_of(uow, shop=actor.shop, status=status)


def order(uow: UnitOfWork, actor: MerchantActor, order_id: str) -> OrderView:
    found = records.order(uow, order_id)
    if found is None or found.shop != actor.shop:
        raise NotFound(f"order {order_id!r} does not exist")
    return found


def ship(uow: UnitOfWork, actor: MerchantActor, order_id: str, *, carrier: str, tracking_no: str,
         now: datetime) -> ShipmentView:
    """Ship one of the shop's paid orders from its warehouse, with the carrier's tracking
    number. Commits."""
    return fulfillment.ship(uow, order_id, carrier=carrier, tracking_no=tracking_no, by=actor.by, now=now,
                            shop=actor.shop)


def cases(uow: UnitOfWork, actor: MerchantActor, *, status: str | None = None) -> list[CaseView]:
    return aftersales.cases(uow, shop=actor.shop, status=status)


def case(uow: UnitOfWork, actor: MerchantActor, case_id: str) -> CaseView:
    return aftersales.case(uow, case_id, shop=actor.shop)


def approve_case(uow: UnitOfWork, platform: Platform, actor: MerchantActor, case_id: str, *, now: datetime,
                 note: str = "") -> CaseView:
    return aftersales.approve(uow, platform, case_id, by=actor.by, note=note, now=now, shop=actor.shop)


def reject_case(uow: UnitOfWork, actor: MerchantActor, case_id: str, *, note: str, now: datetime) -> CaseView:
    return aftersales.reject(uow, case_id, by=actor.by, note=note, now=now, shop=actor.shop)


def inspect_case(uow: UnitOfWork, platform: Platform, actor: MerchantActor, case_id: str, *, passed: bool,
                 now: datetime, note: str = "") -> CaseView:
    return aftersales.inspect(uow, platform, case_id, passed=passed, by=actor.by, note=note, now=now,
                              shop=actor.shop)


# -- money (结算 / 提现) -----------------------------------------------------------------------


def balances(uow: UnitOfWork, actor: MerchantActor) -> settlement.Balances:
    return settlement.balances(uow, actor.shop)


def statements(uow: UnitOfWork, actor: MerchantActor) -> list[settlement.Statement]:
    return settlement.statements(uow, actor.shop)


def statement(uow: UnitOfWork, actor: MerchantActor, statement_id: str) -> settlement.Statement:
    return settlement.statement(uow, statement_id, shop=actor.shop)


def preview(uow: UnitOfWork, actor: MerchantActor, at: datetime) -> settlement.Statement:
    """Pre-settlement (预结算): the statement the shop's next cycle would make at `at`."""
    return settlement.preview(uow, actor.shop, at)


def withdraw(uow: UnitOfWork, actor: MerchantActor, amount: Money, *, key: str,
             clearing: settlement.ClearingInstitution, now: datetime) -> settlement.WithdrawalResult:
    """Withdraw from the shop's available balance (提现), once per `key` of the shop's own."""
    return settlement.withdraw(uow, actor.shop, amount, key=f"{actor.shop}:{check_name(key, 'key')}",
                               clearing=clearing, now=now)


def withdrawals(uow: UnitOfWork, actor: MerchantActor) -> list[settlement.WithdrawalResult]:
    return settlement.withdrawals(uow, actor.shop)


# -- statistics (经营数据) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShopStatistics:
    shop: str
    goods_on_sale: int
    orders: Mapping[str, int]  # by status
    sales: Money  # what users paid for the shop's paid orders
    refunded: Money
    cases: Mapping[str, int]  # after-sales cases by status
    score: Score | None
    balances: settlement.Balances


def statistics(uow: UnitOfWork, actor: MerchantActor) -> ShopStatistics:
    """The shop's figures today: its goods on sale, orders and after-sales by status, what it
    sold and refunded, its score and its balances."""
    mine = records.orders_of(uow, shop=actor.shop)
    currency = onboarding.merchant(uow, actor.merchant).deposit.currency
    paid: Sequence[OrderView] = [o for o in mine if o.paid_at is not None and o.status != states.CANCELLED]
    zero = Money.zero(currency)
    return ShopStatistics(
        actor.shop, len(catalog.list_skus(uow, shop=actor.shop, status=catalog.PUBLISHED)),
        dict(sorted(Counter(o.status for o in mine).items())), sum((o.payable for o in paid), zero),
        sum((o.refunded for o in mine), zero),
        dict(sorted(Counter(c.status for c in aftersales.cases(uow, shop=actor.shop)).items())),
        score_of(uow, actor.shop), settlement.balances(uow, actor.shop))
