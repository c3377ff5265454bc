"""Promotions at run time: the stateful half of promotions (预算 budgets, limits, 优惠券 coupons).

`models.py` owns the tables; `budgets.py` the `BudgetStore` protocol, its values and the SQL
store (conditional single-statement updates); `redis_budgets.py` the Redis store (Lua
scripts); `coupons.py` the coupon values and rules (templates, states, codes, validity);
`service.py` the coupon use cases, alone or together with a budget. The pricing core computes
discounts; this package decides whether they may be spent, and spends them exactly once.
"""
