"""Registration, accounts and addresses (arbiter.api.routes.users)."""

ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/users"): {"service"},
    ("GET", "/v1/users/{user_id}"): {"service", "operator"},
    ("POST", "/v1/users/{user_id}/addresses"): {"service"},
    ("GET", "/v1/users/{user_id}/addresses"): {"service"},
}
PATH_VALUES = {"user_id": "u-matrix"}
