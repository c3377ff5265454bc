"""Suppliers, their contracts and statements, purchase orders and dropship requests
(arbiter.api.routes.suppliers)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/suppliers"): {"operator"},
    ("GET", "/v1/suppliers"): {"operator", "analyst"},
    ("GET", "/v1/suppliers/{supplier_id}"): {"operator", "analyst"},
    ("GET", "/v1/suppliers/{supplier_id}/statement"): {"operator", "analyst"},
    ("POST", "/v1/suppliers/{supplier_id}/purchase-orders"): {"operator"},
    ("GET", "/v1/purchase-orders/{po_id}"): {"operator", "analyst"},
    ("POST", "/v1/purchase-orders/{po_id}/receive"): {"operator"},
    ("GET", "/v1/dropships"): {"service", "operator", "analyst"},
    ("GET", "/v1/dropships/{request_id}"): {"service", "operator", "analyst"},
    ("POST", "/v1/dropships/{request_id}/tracking"): {"service"},
}
PATH_VALUES = {"supplier_id": "sup-matrix", "po_id": "PO-999999", "request_id": "DS-999999"}
