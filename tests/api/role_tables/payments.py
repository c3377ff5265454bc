"""The cashier and channel callbacks (arbiter.api.routes.payments)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/orders/{parent_id}/payment"): {"service"},
    ("POST", "/v1/orders/{parent_id}/payment/verify"): {"service"},
    ("POST", "/v1/orders/{parent_id}/payment/sync"): {"service", "operator"},
    ("GET", "/v1/orders/{parent_id}/payment"): {"service", "operator", "analyst"},
    ("POST", "/v1/payments/callbacks/{channel}"): {"service"},
}
PATH_VALUES = {"parent_id": "PMATRIX", "channel": "alipay_sim"}
