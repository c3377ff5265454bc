"""What each declaration block may contain: its attributes, their kinds, and nested blocks.

The grammar is generic (`kind name { key value ... }`); this table gives each kind its shape,
so a misspelt attribute or a missing one is a diagnostic with a did-you-mean, and a new kind
of declaration is a new entry here rather than new syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AttrSpec:
    """kind: string | int | decimal | datetime | symbol | symbols | names | condition | expr |
    effects | record | name (a reference to another declaration, `ref` says which kind)."""

    kind: str
    required: bool = False
    repeat: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class BlockSpec:
    attrs: dict[str, AttrSpec]
    children: tuple[str, ...] = ()
    summary: str = ""
    required_children: tuple[str, ...] = field(default=())


TAG_ATTRS: dict[str, AttrSpec] = {
    "display": AttrSpec("string", summary="the name operators see (Chinese works)"),
    "category": AttrSpec("string", summary="a grouping for the tag catalog"),
    "source": AttrSpec("symbol", choices=("api", "passthrough", "data", "system"),
                       summary="who supplies the value"),
    "scope": AttrSpec("names", summary="the scenes that may read the tag; every scene when absent"),
    "status": AttrSpec("symbol", choices=("active", "deprecated", "offline")),
    "default": AttrSpec("expr", summary="the value used when the tag is missing; absent: missing is an error"),
    "description": AttrSpec("string"),
}

NAMESPACES = ("user", "goods", "order", "line", "shop", "payment", "passthrough")

HIT_POLICIES = ("first", "all", "score")

PROMOTION_TYPES = (
    "item_cut", "presale", "threshold_cut", "every_cut", "threshold_discount",
    "buy_x_get_y", "payment_cut", "coupon", "bundle", "gift",
)
STAGES = ("item", "shop", "platform", "payment")
# The stage of each promotion type when the declaration does not say.
DEFAULT_STAGE = {
    "item_cut": "item", "presale": "item", "bundle": "item", "buy_x_get_y": "item", "gift": "item",
    "threshold_cut": "shop", "every_cut": "shop", "threshold_discount": "shop",
    "coupon": "platform", "payment_cut": "payment",
}
FUNDERS = ("platform", "merchant", "channel")

BLOCKS: dict[str, BlockSpec] = {
    "scene": BlockSpec(
        {
            "display": AttrSpec("string"),
            "description": AttrSpec("string"),
            "access": AttrSpec("symbol", choices=("api", "embedded", "both"),
                               summary="how callers reach it"),
            "clients": AttrSpec("names", summary="the clients allowed to call it"),
            "tags": AttrSpec("names", summary="namespaces or tags it may read"),
            "effects": AttrSpec("names", summary="the effect types it may return"),
            "on_failure": AttrSpec("symbol", choices=("open", "closed"),
                                   summary="open: return `fallback`; closed: refuse with `fallback`"),
            "fallback": AttrSpec("effects", repeat=True,
                                 summary="the effects returned when evaluation fails"),
            "strategy": AttrSpec("name", ref="strategy", summary="the default strategy"),
        },
        summary="an integration point that asks for decisions",
    ),
    "strategy": BlockSpec(
        {
            "display": AttrSpec("string"),
            "description": AttrSpec("string"),
            "scene": AttrSpec("name", required=True, ref="scene"),
            "hit": AttrSpec("symbol", required=True, choices=HIT_POLICIES,
                            summary="first: the highest-priority match; all: every match; score: sum and band"),
        },
        children=("rule", "band"),
        summary="rules with a hit policy",
    ),
    "rule": BlockSpec(
        {
            "display": AttrSpec("string"),
            "description": AttrSpec("string"),
            "priority": AttrSpec("int", summary="higher first; ties by rule name"),
            "group": AttrSpec("string", summary="exclusion group: of a group, only the highest-priority match fires"),
            "when": AttrSpec("condition", summary="absent: always matches"),
            "then": AttrSpec("effects", repeat=True),
            "score": AttrSpec("int", summary="points added when it matches (score strategies)"),
        },
        summary="a condition with effects",
    ),
    "band": BlockSpec(
        {
            "from": AttrSpec("int", required=True, summary="the lowest total score of the band"),
            "then": AttrSpec("effects", repeat=True),
            "display": AttrSpec("string"),
        },
        summary="a score range of a score strategy and its effects",
    ),
    "experiment": BlockSpec(
        {
            "display": AttrSpec("string"),
            "description": AttrSpec("string"),
            "scene": AttrSpec("name", required=True, ref="scene"),
            "unit": AttrSpec("tag", required=True, summary="the tag that identifies a unit, e.g. user.id"),
            "seed": AttrSpec("string", summary="hash seed; the experiment name when absent"),
            "traffic": AttrSpec("decimal", summary="share of units in the experiment, e.g. 50%"),
            "namespace": AttrSpec("string", summary="experiments in one namespace never share a unit"),
            "range": AttrSpec("expr", summary="the share of the namespace it takes, e.g. [0%, 50%]"),
            "status": AttrSpec("symbol", choices=("draft", "running", "stopped")),
        },
        children=("variant",),
        required_children=("variant",),
        summary="an A/B test of strategies in a scene",
    ),
    "holdout": BlockSpec(
        {
            "display": AttrSpec("string"),
            "unit": AttrSpec("tag", required=True, summary="the tag that identifies a unit, e.g. user.id"),
            "seed": AttrSpec("string", summary="hash seed; the holdout name when absent"),
            "traffic": AttrSpec("decimal", required=True, summary="share of units held out, e.g. 5%"),
        },
        summary="a share of units kept out of every experiment",
    ),
    "variant": BlockSpec(
        {
            "strategy": AttrSpec("name", required=True, ref="strategy"),
            "weight": AttrSpec("int", required=True),
            "display": AttrSpec("string"),
        },
    ),
    "promotion": BlockSpec(
        {
            "display": AttrSpec("string"),
            "description": AttrSpec("string"),
            "type": AttrSpec("symbol", required=True, choices=PROMOTION_TYPES),
            "stage": AttrSpec("symbol", choices=STAGES, summary="item, shop, platform or payment; by type when absent"),
            "priority": AttrSpec("int", summary="higher applies first within its stage"),
            "group": AttrSpec("string", summary="exclusion group: at most one of a group applies"),
            "stacks": AttrSpec("names", summary="promotions or groups it may combine with; `all` for every one"),
            "shop": AttrSpec("string", summary="only lines of this shop"),
            "when": AttrSpec("condition", summary="who and when: over user, order, payment, passthrough tags"),
            "goods": AttrSpec("condition", summary="which lines it covers: over line and goods tags"),
            "calc": AttrSpec("symbol", choices=("cut", "discount", "fixed_price"), summary="item cuts"),
            "amount": AttrSpec("money", summary="the cut: per unit for item cuts, per order otherwise"),
            "percent": AttrSpec("decimal", summary="the share paid: 90% is 10% off (9折)"),
            "price": AttrSpec("money", summary="a fixed unit price (item cut) or a bundle's price"),
            "threshold": AttrSpec("money", summary="the amount to reach (满X)"),
            "count": AttrSpec("int", summary="the number of items to reach (满N件)"),
            "tiers": AttrSpec("tiers", summary="[{threshold: 300, amount: 30}, ...]; the highest tier reached applies"),
            "every": AttrSpec("money", summary="每满: the cut applies once per every"),
            "cap": AttrSpec("money", summary="the most an every-cut can take off"),
            "buy": AttrSpec("int"),
            "get": AttrSpec("int"),
            "deposit": AttrSpec("money", summary="presale deposit per unit (定金)"),
            "deposit_value": AttrSpec("money", summary="what the deposit is worth off the balance (定金膨胀)"),
            "balance_starts": AttrSpec("datetime"),
            "balance_ends": AttrSpec("datetime"),
            "items": AttrSpec("strings", summary="the SKUs of a bundle, one unit each"),
            "gift": AttrSpec("string", summary="the SKU given"),
            "gift_value": AttrSpec("money", summary="what the gift is worth, recorded for funding"),
            "template": AttrSpec("string", summary="the coupon template a user must hold or may claim"),
            "registration": AttrSpec("symbol", choices=("required", "none"),
                                     summary="required: covers only SKUs merchants registered and the platform approved (商品提报)"),
            "threshold_base": AttrSpec("symbol", choices=("list_price", "after_item", "payable"),
                                       summary="what a threshold is judged on; payable when absent"),
            "amount_base": AttrSpec("symbol", choices=("payable", "after_item"),
                                    summary="what a percentage applies to; payable when absent"),
            "funding": AttrSpec("funding", summary="platform, merchant, channel, or { platform: 60%, merchant: 40% }"),
            "budget": AttrSpec("money", summary="the total discount it may give"),
            "budget_policy": AttrSpec("symbol", choices=("strict", "partial")),
            "per_user": AttrSpec("int"),
            "uses": AttrSpec("int", summary="the total number of orders it may apply to"),
            "starts": AttrSpec("datetime"),
            "ends": AttrSpec("datetime"),
        },
        summary="a discount with a type, stage, funding and budget",
    ),
    "test": BlockSpec(
        {
            "scene": AttrSpec("name", ref="scene", summary="a decision test: the scene decided"),
            "strategy": AttrSpec("name", ref="strategy",
                                 summary="test this strategy of the scene, whatever the experiments assign"),
            "now": AttrSpec("datetime", summary="the clock for the test; a fixed default when absent"),
            "given": AttrSpec("record", summary="the context: a record per namespace"),
            "expect": AttrSpec("effects", repeat=True, summary="the effects, in order; `expect []` for none"),
            "cart": AttrSpec("cart", summary="a price test: the lines [{sku, shop, quantity, price, ...tags}]"),
            "coupons": AttrSpec("strings", summary="coupon templates the user holds or may claim"),
            "promotions": AttrSpec("names", summary="price with these promotions only"),
            "payable": AttrSpec("money", summary="the expected payable of a price test"),
            "applied": AttrSpec("names", summary="the promotions expected to apply, in order"),
            "display": AttrSpec("string"),
        },
        summary="given a context, expect effects (a scene) or a price (a cart)",
    ),
}

# Words of the language that can never name a declaration: a condition called `and` could
# never be referred to, and one called `true` would hide behind the literal.
KEYWORDS = frozenset({
    "and", "or", "not", "in", "contains", "between", "where", "for", "any", "all", "count",
    "sum", "min", "max", "true", "false", "tag", "condition", "effect", "by", "within", "distinct",
})

# The kinds of events the platform records for velocity features (`count(order by ...)`).
EVENTS = (
    "register", "login", "login_failed", "order", "payment", "refund", "coupon_claim",
    "credit_apply", "credit_draw", "credit_repay", "withdrawal",
)

TOP_LEVEL = ("scene", "strategy", "experiment", "holdout", "promotion", "test")
