"""The review queue and the managed lists (arbiter.api.routes.risk)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/risk/review-cases"): {"operator"},
    ("GET", "/v1/risk/review-cases/{case_id}"): {"operator"},
    ("POST", "/v1/risk/review-cases/{case_id}/assign"): {"operator"},
    ("POST", "/v1/risk/review-cases/{case_id}/approve"): {"operator"},
    ("POST", "/v1/risk/review-cases/{case_id}/reject"): {"operator"},
    ("GET", "/v1/risk/lists/{name}"): {"operator", "analyst"},
    ("PUT", "/v1/risk/lists/{name}/entries/{value}"): {"operator"},
    ("DELETE", "/v1/risk/lists/{name}/entries/{value}"): {"operator"},
}
PATH_VALUES = {"case_id": "rc_matrix", "value": "matrix-device"}  # {name}: the engine table's
