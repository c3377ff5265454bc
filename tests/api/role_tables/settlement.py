"""Commission, shop terms, cycles and statements (arbiter.api.routes.settlement)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("PUT", "/v1/settlement/rates/categories/{category}"): {"operator"},
    ("PUT", "/v1/settlement/rates/skus/{sku}"): {"operator"},
    ("GET", "/v1/settlement/rates"): {"operator", "analyst"},
    ("PUT", "/v1/settlement/shops/{shop}"): {"operator"},
    ("GET", "/v1/settlement/shops/{shop}"): {"operator", "analyst"},
    ("POST", "/v1/settlement/consume"): {"operator"},
    ("POST", "/v1/settlement/shops/{shop}/settle"): {"operator"},
    ("GET", "/v1/settlement/shops/{shop}/statements"): {"operator", "analyst"},
    ("GET", "/v1/settlement/statements/{statement_id}"): {"operator", "analyst"},
    ("GET", "/v1/settlement/shops/{shop}/balances"): {"operator", "analyst"},
}
PATH_VALUES = {"category": "matrix-category", "sku": "SKU-MATRIX", "statement_id": "shop-fashion-001:2026-11-11"}
