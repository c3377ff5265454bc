"""Settlement (清结算): commission rates (扣点), each shop's settlement cycle and policy, the
settlement lines taken from paid, completed and refunded orders, goods, refund and subsidy
settlement (货款 / 退款 / 补差结算) posted to the ledger, pre-settlement (预结算), statements per
shop per cycle, and withdrawals (提现) as instructions to a licensed clearing institution.
The platform never holds merchants' money itself (the 二清 rule): see docs/settlement.md."""
