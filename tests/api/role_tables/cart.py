"""A user's cart, for the storefront (arbiter.api.routes.cart)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/users/{user_id}/cart"): {"service"},
    ("POST", "/v1/users/{user_id}/cart/items"): {"service"},
    ("PUT", "/v1/users/{user_id}/cart/items/{sku}"): {"service"},
    ("DELETE", "/v1/users/{user_id}/cart/items/{sku}"): {"service"},
    ("POST", "/v1/users/{user_id}/cart/remove"): {"service"},
}
PATH_VALUES = {"user_id": "u-matrix", "sku": "SKU-MATRIX"}
