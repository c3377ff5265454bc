"""Consumer credit (消费信贷): credit applications (授信) decided by the `credit_apply` rules, the
revolving credit line (循环额度) with its limit changes (提额) and special-purpose lines
(专项额度), the installment trial and pricing (分期试算, 金融定价) decided by the `installment`
rules, and the real-time approval at payment with the atomic line deduction (额度扣减).

Financing, bills and repayments live in `arbiter.platform.funding`, which restores the line
through this module. `service` gathers the entry points other modules call.
"""
