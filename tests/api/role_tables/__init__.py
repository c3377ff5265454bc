"""Who may call what, area by area: each module here holds one area's `ROLES` (method and
path to the roles admitted, admin aside) and the `PATH_VALUES` its paths need. The role
matrix test (tests/api/test_auth.py) merges them with the engine's own table."""

from __future__ import annotations

import importlib
import pkgutil

ROLES: dict[tuple[str, str], set[str]] = {}
PATH_VALUES: dict[str, str] = {}

for _module in pkgutil.iter_modules(__path__):
    _area = importlib.import_module(f"{__name__}.{_module.name}")
    _clash = ROLES.keys() & _area.ROLES.keys()
    assert not _clash, f"{_module.name} declares routes another area does: {sorted(_clash)}"
    ROLES.update(_area.ROLES)
    for _name, _value in getattr(_area, "PATH_VALUES", {}).items():
        assert PATH_VALUES.get(_name, _value) == _value, f"{_module.name}: path value {_name} differs"
        PATH_VALUES[_name] = _value
