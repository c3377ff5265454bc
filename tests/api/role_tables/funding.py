"""Funders and their capital, assets and bills, repayments and disposal
(arbiter.api.routes.funding)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/funding/funders"): {"operator", "analyst"},
    ("PUT", "/v1/funding/funders/{funder_id}"): {"operator"},
    ("GET", "/v1/funding/funders/{funder_id}"): {"operator", "analyst"},
    ("POST", "/v1/funding/funders/{funder_id}/capital"): {"operator"},
    ("GET", "/v1/funding/funders/{funder_id}/assets"): {"operator", "analyst"},
    ("GET", "/v1/funding/assets/{order_id}"): {"operator", "analyst"},
    ("GET", "/v1/funding/assets/{order_id}/payoff"): {"service", "operator"},
    ("POST", "/v1/funding/assets/{order_id}/repayments"): {"service"},
    ("GET", "/v1/funding/users/{user_id}/bills"): {"service", "operator", "analyst"},
    ("POST", "/v1/funding/collections"): {"operator"},
    ("POST", "/v1/funding/packages"): {"operator"},
    ("GET", "/v1/funding/packages/{package_id}"): {"operator", "analyst"},
    ("POST", "/v1/funding/packages/{package_id}/sale"): {"operator"},
}
PATH_VALUES = {"funder_id": "funder-matrix", "order_id": "o-matrix", "user_id": "u-matrix",
               "package_id": "pkg-matrix"}
