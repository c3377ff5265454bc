"""Promotions at run time: the stateful half of promotions (预算 budgets, limits, 优惠券 coupons).

`models.py` owns the tables; `budgets.py` the `BudgetStore` protocol, its values and the SQL
store (conditional single-statement updates); `redis_budgets.py` the Redis store (Lua
scripts); `coupons.py` the coupon values and rules (templates, states, codes, validity);
`service.py` the coupon use cases, alone or together with a budget; `grants.py` the coupons
that decisions grant (`grant_coupon` effects), once per scene, user and template;
`lifecycle.py` each promotion's life (draft, submitted, approved, scheduled, active, paused,
ended);
`registration.py` the goods merchants register into promotions (商品提报); `pricing.py` the
checkout: quote, place, confirm, cancel, over the pure price trial (`holds.py` keeps each
order's holds). The pricing core computes discounts; this package decides whether they may be
spent, and spends them exactly once.
"""
