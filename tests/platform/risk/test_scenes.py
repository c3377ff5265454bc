"""The order, withdrawal and registration controls and the derived tags of `rules/risk.rules`,
each driven by a generated event stream (seeded ordinary traffic around a scripted attack) on a
controlled clock, with the exact decisions asserted; against the in-process counters and Redis.
"""

from __future__ import annotations

from datetime import timedelta

from arbiter.dsl.compiler import Ruleset
from arbiter.engine.velocity import VelocityStore

from .world import FACE, PASS, PASSWORD, SMS, T0, World

WELCOME = ["pass()", 'tag_user(tag: "new_user")']


def minutes(world: World, count: int, span: int) -> list[timedelta]:
    """`count` distinct moments within `span` minutes, in order."""
    return [timedelta(minutes=m) for m in sorted(world.random.sample(range(span), count))]


def test_derived_tags_a_shared_device_far_from_home(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=11)
    world.noise(T0 - timedelta(days=3), 72, 150)
    for offset in minutes(world, 6, 600):  # alice's own tablet, at home
        assert world.at(T0 - timedelta(days=2) + offset).login("alice", "dev-tab", "上海", home="上海") == PASS
    world.at(T0)
    assert world.login("alice", "dev-tab", "广东", home="上海") == PASS  # away, but nobody else's device
    assert world.login("bob", "dev-tab", "上海", home="上海") == PASS  # another account, at home
    # Now the tablet has been seen with another account: far from home, an SMS code.
    assert world.login("alice", "dev-tab", "广东", home="上海") == SMS
    assert world.login("carol", "dev-tab", "广东", home="北京") == SMS
    assert world.login("dave", "dev-dave", "广东", home="上海") == PASS  # his own device
    assert world.login("erin", "dev-tab", "广东") == PASS  # no home region on file: not "away"
    # Paying 6,000 (20 points) from the shared tablet far from home: +15 +10 = 45, an SMS code.
    assert world.pay("alice", "6000", level=3, device="dev-tab", home="上海", region="广东") == SMS
    assert world.pay("alice", "6000", level=3, device="dev-tab", home="上海", region="上海") == SMS  # 35
    assert world.pay("dave", "6000", level=3, device="dev-dave", home="上海", region="上海") == PASS  # 20
    # Thirty days after the other accounts' last login here, the tablet is alice's alone again.
    assert world.at(T0 + timedelta(days=20)).login("alice", "dev-tab", "上海", home="上海") == PASS
    world.at(T0 + timedelta(days=30))
    assert world.login("alice", "dev-tab", "广东", home="上海") == PASS
    assert world.login("bob", "dev-tab", "广东", home="上海") == SMS  # alice's login 10 days ago


def test_account_farming_holds_the_fourth_signup_on_a_device(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=12)
    world.noise(T0 - timedelta(hours=12), 12, 120)
    farm = ['review(reason: "many_accounts_on_device")']
    moments = [T0 + offset for offset in minutes(world, 5, 8 * 60)]
    outcomes = [world.at(m).register(f"farm{i}", "dev-farm") for i, m in enumerate(moments)]
    # Held signups record nothing: the fifth still sees three.
    assert outcomes == [WELCOME, WELCOME, WELCOME, farm, farm]
    assert world.register("solo", "dev-solo") == WELCOME
    world.at(moments[0] + timedelta(days=1))  # the first has left the day's window
    assert world.register("farm9", "dev-farm") == WELCOME


def test_order_brushing_and_self_dealing_as_the_order_is_placed(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=13)
    world.noise(T0 - timedelta(days=2), 48, 150)
    brushing = ['review(reason: "order_brushing")']
    moments = [T0 + offset for offset in minutes(world, 5, 24 * 60)]
    outcomes = [world.at(m).order(f"acct{i}", device="dev-farm", shop="shop-9") for i, m in enumerate(moments)]
    assert outcomes == [PASS, PASS, PASS, brushing, brushing]
    assert world.order("acct9", device="dev-farm", shop="shop-2") == PASS  # another shop
    world.lists.add("device_allowlist", "dev-farm", reason="a family tablet", by="ops")
    assert world.order("acct8", device="dev-farm", shop="shop-9") == PASS
    outcomes = [world.order(f"flat{i}", device=f"dev-f{i}", shop="shop-3", address="addr-42") for i in range(7)]
    assert outcomes == [PASS] * 5 + [brushing, brushing]
    assert world.order("boss", shop="shop-77", owner_of="shop-77") == ['reject(reason: "self_dealing")']
    assert world.order("boss", shop="shop-78", owner_of="shop-77") == PASS
    world.lists.add("address_blocklist", "addr-13", reason="chargebacks", by="ops")
    assert world.order("anyone", shop="shop-1", address="addr-13") == ['reject(reason: "blocked")']


def test_order_recharge_rings_and_bursts(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=14)
    world.noise(T0 - timedelta(hours=6), 6, 80)
    ring = ['review(reason: "recharge_ring")']
    moments = [T0 + offset for offset in minutes(world, 5, 12 * 60)]
    outcomes = [world.at(m).order(f"top{i}", "100", recharge="13800000000") for i, m in enumerate(moments)]
    assert outcomes == [PASS, PASS, PASS, ring, ring]
    assert world.order("top0", "100", recharge="13900000000") == PASS  # another number
    world.at(moments[0] + timedelta(days=1))
    assert world.order("top7", "100", recharge="13800000000") == PASS  # two accounts left today
    burst = ['review(reason: "order_burst")']
    start = T0 + timedelta(days=3)
    for i in range(10):  # ten orders in ten minutes, from ten shops
        assert world.at(start + timedelta(minutes=i)).order("bot", shop=f"shop-{i}") == PASS
    assert world.order("bot", shop="shop-10") == burst
    assert world.at(start + timedelta(hours=1)).order("bot", shop="shop-11") == PASS  # nine in the hour


def test_withdrawals_verify_more_as_the_risk_grows(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=15)
    world.noise(T0 - timedelta(days=1), 24, 100)
    world.at(T0 - timedelta(hours=5)).login("shop-owner", "dev-office", "上海", home="上海")
    world.at(T0)
    assert world.withdraw("shop-owner", "800", device="dev-office", region="上海", home="上海") == PASSWORD
    assert world.withdraw("shop-owner", "800", device="dev-cafe", region="上海", home="上海") == SMS  # new device
    # Large, from a new device, far from home: 30 + 30 + 15 = 75.
    assert world.withdraw("shop-owner", "60000", device="dev-cafe", region="广东", home="上海") == FACE
    world.lists.add("card_blocklist", "card-mule", reason="a mule's card", by="ops")
    assert world.withdraw("someone", "10", card="card-mule") == ['reject(reason: "withdrawal_risk_too_high")']
    # The owner's fourth withdrawal today is held for a person, whatever the device.
    assert world.withdraw("shop-owner", "800", device="dev-office", region="上海", home="上海") == [
        'review(reason: "many_withdrawals")', *SMS]


def test_withdrawals_many_or_fast_in_and_out_are_held(ruleset: Ruleset, velocity: VelocityStore) -> None:
    world = World(ruleset, velocity, seed=16)
    world.noise(T0 - timedelta(days=1), 24, 100)
    world.at(T0 - timedelta(hours=5)).login("u1", "dev-1", "上海")
    world.login("u2", "dev-2", "上海")
    many = ['review(reason: "many_withdrawals")', *SMS]
    moments = [T0 + offset for offset in minutes(world, 4, 12 * 60)]
    outcomes = [world.at(m).withdraw("u1", "300", device="dev-1") for m in moments]
    assert outcomes == [PASSWORD] * 3 + [many]  # the 3rd and later that day are held
    world.at(moments[0] + timedelta(days=1))
    assert world.withdraw("u1", "300", device="dev-1") == PASSWORD
    # Money laundering: a credit draw and a refund within the day, then out to a card.
    fast = ['review(reason: "fast_in_and_out")', *SMS]
    world.at(T0 + timedelta(days=3))
    assert world.pay("u2", "3000", method="credit", level=2) == PASS
    assert world.withdraw("u2", "3000", device="dev-2") == PASSWORD  # one draw: not yet
    world.at(T0 + timedelta(days=3, hours=2)).refund("u2", "3000")
    assert world.withdraw("u2", "3000", device="dev-2") == fast
    world.at(T0 + timedelta(days=4))  # the draw has left the window; the refund has not
    assert world.withdraw("u2", "3000", device="dev-2") == PASSWORD
