"""Checkout and orders (arbiter.api.routes.orders)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/orders"): {"service"},
    ("GET", "/v1/orders/{parent_id}"): {"service", "operator", "analyst"},
    ("GET", "/v1/users/{user_id}/orders"): {"service", "operator"},
    ("POST", "/v1/orders/{parent_id}/cancel"): {"service"},
}
PATH_VALUES = {"parent_id": "PMATRIX", "user_id": "u-matrix"}
