"""The supply chain's suppliers (供应商): onboarding and contracts of three kinds (stock
purchase, dropship, real-time API), purchase orders received into warehouses (采购), dropship
requests (代发) and their tracking, real-time purchases for virtual goods (实时采购), and each
supplier's cost lines and statement for settlement."""
