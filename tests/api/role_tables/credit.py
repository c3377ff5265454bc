"""The installment trial, credit applications and lines (arbiter.api.routes.credit)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/installments/quote"): {"service"},
    ("POST", "/v1/credit/applications"): {"service"},
    ("POST", "/v1/credit/applications/{key}/review"): {"operator"},
    ("GET", "/v1/credit/lines/{user_id}"): {"service", "operator", "analyst"},
}
PATH_VALUES = {"user_id": "u-matrix", "key": "apply-matrix"}
