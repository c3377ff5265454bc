"""Coupon templates, claims, grants, bulk codes and every move of a coupon's state machine, on
SQLite and PostgreSQL, with exact figures and times."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbiter.errors import InvalidInput
from arbiter.platform.promotions import coupons as c
from arbiter.platform.promotions import service
from arbiter.platform.promotions.coupons import CODE_ALPHABET, CouponResult, HeldCoupon

from .support import T0, cny, new_user_coupon, phone_percent_coupon, run, shop_coupon

DAY = timedelta(days=1)


def status(db: Engine, coupon_id: int) -> str | None:
    info = run(db, service.coupon, coupon_id)
    return None if info is None else info.status


def claimed(db: Engine, user: str = "u1", template: str = "new_user_99_20") -> int:
    result = run(db, service.claim, template, user, T0)
    assert result.ok and result.coupon_id is not None, result
    return result.coupon_id


def test_templates_round_trip_exactly(db: Engine) -> None:
    for spec in (new_user_coupon(), shop_coupon(), phone_percent_coupon()):
        assert run(db, service.define_template, spec, T0) == spec
        assert run(db, service.template, spec.code) == spec
    stored = run(db, service.template, "phone_12_5")
    assert stored is not None and stored.percent == Decimal("12.5") and stored.cap == cny("150.00")
    assert run(db, service.template, "nope") is None
    changed = shop_coupon(display="店铺券 满300减30 (双11)", stock=5)
    run(db, service.define_template, changed, T0)
    assert run(db, service.template, "s1_300_30") == changed


@pytest.mark.parametrize("changes", [
    dict(percent=Decimal("10")),  # both value and percent
    dict(value=None),  # neither
    dict(cap=cny("5.00")),  # a cap on an amount coupon
    dict(days_after_claim=None),  # no validity at all
    dict(days_after_claim=0),
    dict(kind="vip"),
    dict(claim_limit=-1),
    dict(value=cny("0")),
    dict(value=cny("0.00001")),
])
def test_bad_templates_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        new_user_coupon(**changes)
    with pytest.raises(InvalidInput):
        phone_percent_coupon(percent=Decimal("100"))


def test_a_claim_respects_the_per_user_limit_and_the_stock(db: Engine) -> None:
    run(db, service.define_template, shop_coupon(), T0)
    first = run(db, service.claim, "s1_300_30", "u1", T0)
    assert first == CouponResult(first.coupon_id, c.AVAILABLE) and first.coupon_id is not None
    assert run(db, service.claim, "s1_300_30", "u1", T0).ok
    assert run(db, service.claim, "s1_300_30", "u1", T0) == CouponResult(None, None, c.CLAIM_LIMIT)
    assert run(db, service.claim, "s1_300_30", "u2", T0).ok
    assert run(db, service.claim, "s1_300_30", "u3", T0) == CouponResult(None, None, c.OUT_OF_STOCK)
    assert run(db, service.stock_issued, "s1_300_30") == 3
    info = run(db, service.coupon, first.coupon_id)
    assert info is not None
    assert (info.user, info.source, info.status, info.valid_from, info.expires_at) == (
        "u1", "claim", c.AVAILABLE, T0 - DAY, T0 + 10 * DAY)
    assert len(info.code) == 12 and set(info.code) <= set(CODE_ALPHABET)
    # u3 was refused for stock; their claim count was not kept: more stock lets them claim.
    run(db, service.define_template, shop_coupon(stock=4), T0)
    assert run(db, service.claim, "s1_300_30", "u3", T0).ok


def test_a_claim_outside_the_period_or_of_an_unknown_template_is_refused(db: Engine) -> None:
    run(db, service.define_template, shop_coupon(), T0)
    assert run(db, service.claim, "s1_300_30", "u1", T0 - 2 * DAY).reason == c.NOT_STARTED
    assert run(db, service.claim, "s1_300_30", "u1", T0 + 10 * DAY).reason == c.ENDED
    assert run(db, service.claim, "nope", "u1", T0).reason == c.UNKNOWN_TEMPLATE
    assert run(db, service.stock_issued, "s1_300_30") == 0


def test_new_user_coupons_can_be_limited_per_device(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(device_limit=1), T0)
    assert run(db, service.claim, "new_user_99_20", "u1", T0).reason == c.DEVICE_REQUIRED
    assert run(db, service.claim, "new_user_99_20", "u1", T0, "d1").ok
    assert run(db, service.claim, "new_user_99_20", "u2", T0, "d1").reason == c.DEVICE_LIMIT
    assert run(db, service.claim, "new_user_99_20", "u2", T0, "d2").ok
    assert run(db, service.stock_issued, "new_user_99_20") == 2


def test_a_claim_with_a_key_and_a_grant_happen_once(db: Engine) -> None:
    run(db, service.define_template, phone_percent_coupon(), T0)
    first = run(db, service.claim, "phone_12_5", "u1", T0, key="click-1")
    again = run(db, service.claim, "phone_12_5", "u1", T0 + DAY, key="click-1")
    assert again == CouponResult(first.coupon_id, c.AVAILABLE, replayed=True)
    granted = [run(db, service.grant, "phone_12_5", "u1", T0, key="decision-7:0") for _ in range(3)]
    assert [g.replayed for g in granted] == [False, True, True]
    assert len({g.coupon_id for g in granted}) == 1
    assert run(db, service.stock_issued, "phone_12_5") == 2
    assert [h.id for h in run(db, service.held_coupons, "u1", T0)] == [first.coupon_id, granted[0].coupon_id]
    info = run(db, service.coupon, granted[0].coupon_id)
    assert info is not None and info.source == "grant"


def test_relative_validity_runs_from_the_claim(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(), T0)
    coupon_id = run(db, service.claim, "new_user_99_20", "u1", T0 + timedelta(hours=5)).coupon_id
    assert coupon_id is not None
    info = run(db, service.coupon, coupon_id)
    assert info is not None
    assert (info.valid_from, info.expires_at) == (T0 + timedelta(hours=5), T0 + timedelta(days=7, hours=5))


def test_bulk_codes_are_unique_within_the_stock_and_bound_once(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(stock=60, claim_limit=2), T0)
    issued = run(db, service.issue_codes, "new_user_99_20", 50, T0, key="batch-1")
    assert issued.ok and len(issued.codes) == 50 == len(set(issued.codes))
    assert run(db, service.issue_codes, "new_user_99_20", 50, T0, key="batch-1").codes == issued.codes
    assert run(db, service.issue_codes, "new_user_99_20", 11, T0).reason == c.OUT_OF_STOCK
    assert run(db, service.stock_issued, "new_user_99_20") == 50
    assert run(db, service.held_coupons, "u1", T0) == []
    at = T0 + timedelta(hours=1)
    bound = run(db, service.bind_code, issued.codes[0], "u1", at)
    assert bound.ok and bound.status == c.AVAILABLE
    assert run(db, service.bind_code, issued.codes[0], "u1", at).replayed
    assert run(db, service.bind_code, issued.codes[0], "u2", at).reason == c.CODE_TAKEN
    assert run(db, service.bind_code, "NOPE", "u2", at).reason == c.UNKNOWN_COUPON
    assert run(db, service.bind_code, issued.codes[1], "u1", at).ok
    assert run(db, service.bind_code, issued.codes[2], "u1", at).reason == c.CLAIM_LIMIT
    held = run(db, service.held_coupons, "u1", at)
    assert [h.code for h in held] == [issued.codes[0], issued.codes[1]]
    assert held[0].expires_at == at + timedelta(days=7)  # relative validity starts at binding
    assert run(db, service.issue_codes, "nope", 1, T0).reason == c.UNKNOWN_TEMPLATE
    with pytest.raises(InvalidInput):
        run(db, service.issue_codes, "new_user_99_20", 0, T0)


def test_reserve_redeem_return_and_use_again(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(promotion=None), T0)
    coupon_id = claimed(db)
    assert run(db, service.reserve, coupon_id, "o1", "u1", T0) == CouponResult(coupon_id, c.RESERVED)
    assert run(db, service.reserve, coupon_id, "o1", "u1", T0).replayed
    assert run(db, service.held_coupons, "u1", T0) == []  # on hold: not offered to another trial
    assert run(db, service.reserve, coupon_id, "o2", "u1", T0).reason == c.RESERVED_ELSEWHERE
    assert run(db, service.reserve, coupon_id, "o2", "u2", T0).reason == c.NOT_HOLDER
    assert run(db, service.redeem, coupon_id, "o2", T0).reason == c.RESERVED_ELSEWHERE
    assert run(db, service.redeem, coupon_id, "o1", T0) == CouponResult(coupon_id, c.REDEEMED)
    assert run(db, service.redeem, coupon_id, "o1", T0).replayed
    assert run(db, service.reserve, coupon_id, "o3", "u1", T0).reason == c.ALREADY_REDEEMED
    assert run(db, service.return_coupon, coupon_id, "o2", T0).reason == c.NOT_FOR_ORDER
    returns = [run(db, service.return_coupon, coupon_id, "o1", T0) for _ in range(5)]
    assert returns[0] == CouponResult(coupon_id, c.RETURNED)
    assert all(r.replayed and r.status == c.RETURNED for r in returns[1:])
    assert [h.id for h in run(db, service.held_coupons, "u1", T0)] == [coupon_id]
    assert run(db, service.reserve, coupon_id, "o4", "u1", T0).ok
    # A late duplicate of the first order's reserve gets its first result and takes nothing.
    late = run(db, service.reserve, coupon_id, "o1", "u1", T0)
    assert (late.replayed, late.status) == (True, c.RESERVED)
    info = run(db, service.coupon, coupon_id)
    assert info is not None and (info.status, info.order_id) == (c.RESERVED, "o4")


def test_illegal_moves_are_refused_with_reasons(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(promotion=None), T0)
    coupon_id = claimed(db)
    assert run(db, service.redeem, coupon_id, "o1", T0) == CouponResult(coupon_id, c.AVAILABLE, c.NOT_RESERVED)
    assert run(db, service.return_coupon, coupon_id, "o1", T0).reason == c.NOT_FOR_ORDER
    assert run(db, service.reserve, 999, "o1", "u1", T0) == CouponResult(999, None, c.UNKNOWN_COUPON)
    assert run(db, service.redeem, 999, "o1", T0).reason == c.UNKNOWN_COUPON
    assert run(db, service.return_coupon, 999, "o1", T0).reason == c.UNKNOWN_COUPON
    assert run(db, service.reserve, coupon_id, "o1", "u1", T0 - DAY).reason == c.NOT_YET_VALID
    assert run(db, service.reserve, coupon_id, "o1", "u1", T0 + 7 * DAY).reason == c.COUPON_EXPIRED
    assert status(db, coupon_id) == c.AVAILABLE
    # Refusals are not recorded: the same order may try again once the move is legal.
    assert run(db, service.reserve, coupon_id, "o1", "u1", T0).ok


def test_a_coupon_returned_after_its_expiry_is_expired(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(promotion=None), T0)
    coupon_id = claimed(db)
    run(db, service.reserve, coupon_id, "o1", "u1", T0 + 6 * DAY)
    assert run(db, service.redeem, coupon_id, "o1", T0 + 8 * DAY).ok  # placed in time, paid late
    assert run(db, service.return_coupon, coupon_id, "o1", T0 + 9 * DAY) == CouponResult(coupon_id, c.EXPIRED)
    assert run(db, service.reserve, coupon_id, "o2", "u1", T0 + 9 * DAY).reason == c.COUPON_EXPIRED


def test_expire_due_expires_unused_coupons_once(db: Engine) -> None:
    run(db, service.define_template, new_user_coupon(promotion=None), T0)
    run(db, service.define_template, shop_coupon(), T0)
    early = claimed(db, "u1")
    on_hold = claimed(db, "u2")
    run(db, service.reserve, on_hold, "o1", "u2", T0)
    later = run(db, service.claim, "new_user_99_20", "u3", T0 + 2 * DAY).coupon_id
    shop = claimed(db, "u1", "s1_300_30")
    assert run(db, service.expire_due, T0 + 7 * DAY - timedelta(seconds=1)) == 0
    assert run(db, service.expire_due, T0 + 7 * DAY) == 1
    assert run(db, service.expire_due, T0 + 7 * DAY) == 0
    assert [status(db, i) for i in (early, on_hold, later, shop)] == [  # type: ignore[arg-type]
        c.EXPIRED, c.RESERVED, c.AVAILABLE, c.AVAILABLE]
    assert run(db, service.expire_due, T0 + 10 * DAY) == 2
    assert [status(db, i) for i in (later, shop)] == [c.EXPIRED, c.EXPIRED]  # type: ignore[arg-type]


def test_held_coupons_are_plain_values_soonest_to_expire_first(db: Engine) -> None:
    for spec in (new_user_coupon(), shop_coupon(), phone_percent_coupon()):
        run(db, service.define_template, spec, T0)
    phone = claimed(db, "u1", "phone_12_5")
    shop = claimed(db, "u1", "s1_300_30")
    new = claimed(db, "u1")
    claimed(db, "u2")
    held = run(db, service.held_coupons, "u1", T0)
    assert [h.id for h in held] == [new, shop, phone]
    codes = {h.id: h.code for h in held}
    assert held[0] == HeldCoupon(
        id=new, code=codes[new], template="new_user_99_20", display="新人券 满99减20", kind=c.NEW_USER,
        value=cny("20.00"), percent=None, cap=None, threshold=cny("99.00"), scope="all",
        valid_from=T0, expires_at=T0 + 7 * DAY, promotion="new_user_99_20",
    )
    assert held[2] == HeldCoupon(
        id=phone, code=codes[phone], template="phone_12_5", display="平台券 手机87.5折", kind=c.PLATFORM,
        value=None, percent=Decimal("12.5"), cap=cny("150.00"), threshold=cny("1000.00"),
        scope="category:phone", valid_from=None, expires_at=T0 + 30 * DAY, promotion=None,
    )
    assert held[1].scope == "shop:S1" and held[1].valid_from == T0 - DAY
    assert [h.id for h in run(db, service.held_coupons, "u1", T0 + 8 * DAY)] == [shop, phone]
