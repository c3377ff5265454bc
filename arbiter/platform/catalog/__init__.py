"""The catalog (货品中台): categories, brands, SPUs and their SKUs with prices, cost, flags and
sales limits; publishing; the goods facts the rules read; the purchase and profit guards an
order line passes; and rule-driven selection lists and rankings (选品, 榜单)."""
