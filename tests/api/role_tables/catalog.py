"""The category tree, goods, stock and the product page's price (arbiter.api.routes.catalog)."""

_EVERY_KEY = {"service", "operator", "analyst", "merchant"}
_WRITERS = {"operator", "merchant"}

ROLES: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/catalog/categories"): _EVERY_KEY,
    ("PUT", "/v1/catalog/categories/{category}"): {"operator"},
    ("PUT", "/v1/catalog/brands/{brand}"): {"operator"},
    ("POST", "/v1/catalog/spus"): _WRITERS,
    ("POST", "/v1/catalog/skus"): _WRITERS,
    ("POST", "/v1/catalog/skus/{sku}/publish"): _WRITERS,
    ("POST", "/v1/catalog/skus/{sku}/unpublish"): _WRITERS,
    ("GET", "/v1/catalog/skus/{sku}"): _EVERY_KEY,
    ("GET", "/v1/catalog/skus/{sku}/stock"): _EVERY_KEY,
    ("POST", "/v1/catalog/skus/{sku}/final-price"): {"service"},
}
PATH_VALUES = {"category": "matrix-category", "brand": "matrix-brand", "sku": "SKU-MATRIX"}
