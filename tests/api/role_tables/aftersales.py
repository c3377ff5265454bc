"""After-sales cases and invoices of self-operated goods (arbiter.api.routes.aftersales)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/aftersales/cases"): {"service"},
    ("GET", "/v1/aftersales/cases"): {"operator", "analyst"},
    ("GET", "/v1/aftersales/cases/{aftersales_case}"): {"service", "operator", "analyst"},
    ("GET", "/v1/users/{user_id}/aftersales"): {"service", "operator"},
    ("POST", "/v1/aftersales/cases/{aftersales_case}/ship-back"): {"service"},
    ("POST", "/v1/aftersales/invoices"): {"service"},
    ("POST", "/v1/aftersales/cases/{aftersales_case}/approve"): {"operator"},
    ("POST", "/v1/aftersales/cases/{aftersales_case}/reject"): {"operator"},
    ("POST", "/v1/aftersales/cases/{aftersales_case}/inspect"): {"operator"},
}
PATH_VALUES = {"aftersales_case": "AS-MATRIX", "user_id": "u-matrix"}
