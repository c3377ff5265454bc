"""Payments (支付系统): the cashier (收银台), payment verification (交易鉴权), channels and
routing (支付路由), charging with signed callbacks, and refunds (逆向交易).

It owns the `payments_payment` and `payments_refund` tables. The risk decision of the
`payment` scene says how a payment is verified; channels sit behind one Protocol and a router
picks one by method, with fallbacks; a payment that succeeds emits `payment.succeeded` and a
refund `payment.refunded`, in the transaction that records them. `service` is the entry point.
"""
