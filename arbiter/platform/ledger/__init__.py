"""The double-entry ledger (总账): accounts and the immutable transfers between them.

Every movement of money the platform records — goods settlement, commission (扣点),
subsidies, deposits (保证金), withdrawals (提现), credit disbursement, repayments, funder
capital, overpayment (溢缴款) — is a transfer of a positive amount from one account (credited)
to another (debited), so the sum of all debits always equals the sum of all credits. Accounts
may carry a floor (their balance never goes below zero); transfers are idempotent by their
caller-chosen id and are never edited (a reversal is a new transfer).

`models.py` owns the tables, `service.py` the use cases (posting, reversal, balances, entries,
the trial balance), `accounts.py` the platform's catalogue of accounts with their normal
sides and floors. None of them commits: the caller's use case does, once.
"""
