"""Funding (资金系统): the funders (资方) who lend for orders paid on credit, asset routing (资产路由)
decided by the `asset_routing` rules, the bills (账单) of each financed order with repayments
and the overdue penalty, refunds of financed orders with the asset's repurchase (资产回购), and
the disposal (资产处置) of assets long overdue. Capital moves through the ledger; funders'
capacity moves by conditional updates. `service` gathers the entry points.
"""
