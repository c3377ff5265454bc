"""Parcels, tracking, receipt and the warehouse's shipping (arbiter.api.routes.fulfillment)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/fulfillment/orders/{order_id}/shipments"): {"service", "operator", "analyst"},
    ("POST", "/v1/fulfillment/orders/{order_id}/receipt"): {"service"},
    ("POST", "/v1/fulfillment/logistics"): {"service"},
    ("POST", "/v1/fulfillment/orders/{order_id}/ship"): {"operator"},
    ("POST", "/v1/fulfillment/complete-delivered"): {"operator"},
}
PATH_VALUES = {"order_id": "o-matrix"}
