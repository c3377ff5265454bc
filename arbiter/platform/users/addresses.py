"""Delivery addresses (收货地址). A user uses only their own: `address_of` is what an order
calls, and answers another user's address exactly like a missing one (AddressNotOwned).
The default address (at most one per user; the first one added is it) also gives the
user's region and city (`user.region`, `user.city`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update

from arbiter.platform.db import UnitOfWork
from arbiter.platform.users import validation
from arbiter.platform.users.accounts import live_account
from arbiter.platform.users.store import ADDRESSES, new_id
from arbiter.platform.users.views import AddressNotOwned, AddressView

MAX_ADDRESSES = 20


def _view(row: Any) -> AddressView:
    return AddressView(row.id, row.user_id, row.name, row.phone, row.region, row.city, row.detail,
                       bool(row.is_default))


def add_address(uow: UnitOfWork, user_id: str, *, name: str, phone: str, region: str, city: str,
                detail: str, default: bool = False) -> str:
    """Add an address; returns its id. `default` (or being the first) makes it the default.
    Commits once."""
    values = dict(name=validation.text(name, "name", max_length=64), phone=validation.phone(phone),
                  region=validation.text(region, "region", max_length=64),
                  city=validation.text(city, "city", max_length=64),
                  detail=validation.text(detail, "detail", max_length=200))
    if not isinstance(default, bool):
        raise validation.InvalidField("default", "expected true or false")
    live_account(uow, user_id)
    count, last = uow.session.execute(
        select(func.count(), func.coalesce(func.max(ADDRESSES.c.position), 0))
        .where(ADDRESSES.c.user_id == user_id)).one()
    if count >= MAX_ADDRESSES:
        raise validation.InvalidField("address", f"at most {MAX_ADDRESSES} addresses per user")
    make_default = default or count == 0
    if make_default:
        uow.session.execute(update(ADDRESSES).where(ADDRESSES.c.user_id == user_id).values(is_default=False))
    address_id = new_id("addr")
    uow.session.execute(insert(ADDRESSES).values(id=address_id, user_id=user_id, is_default=make_default,
                                                 position=last + 1, **values))
    uow.commit()
    return address_id


def get_address(uow: UnitOfWork, address_id: str) -> AddressView | None:
    if not isinstance(address_id, str):
        return None
    row = uow.session.execute(select(ADDRESSES).where(ADDRESSES.c.id == address_id)).first()
    return None if row is None else _view(row)


def list_addresses(uow: UnitOfWork, user_id: str) -> list[AddressView]:
    """The default first, then in the order they were added."""
    rows = uow.session.execute(select(ADDRESSES).where(ADDRESSES.c.user_id == user_id).order_by(
        ADDRESSES.c.is_default.desc(), ADDRESSES.c.position, ADDRESSES.c.id))
    return [_view(row) for row in rows]


def address_of(uow: UnitOfWork, user_id: str, address_id: str) -> AddressView:
    """The user's own address, for an order. Does not commit. Raises AddressNotOwned when the
    address does not exist or belongs to someone else."""
    found = get_address(uow, address_id)
    if found is None or found.user_id != user_id:
        raise AddressNotOwned(f"address {address_id!r} is not one of user {user_id!r}'s addresses")
    return found


def set_default_address(uow: UnitOfWork, user_id: str, address_id: str) -> None:
    """Commits once."""
    address_of(uow, user_id, address_id)
    uow.session.execute(update(ADDRESSES).where(ADDRESSES.c.user_id == user_id)
                        .values(is_default=ADDRESSES.c.id == address_id))
    uow.commit()


def remove_address(uow: UnitOfWork, user_id: str, address_id: str) -> None:
    """Orders keep their own copy, so removing never changes an order. Commits once."""
    removed = address_of(uow, user_id, address_id)
    uow.session.execute(delete(ADDRESSES).where(ADDRESSES.c.id == address_id))
    if removed.is_default:  # the newest remaining one takes over
        newest = uow.session.execute(select(ADDRESSES.c.id).where(ADDRESSES.c.user_id == user_id)
                                     .order_by(ADDRESSES.c.position.desc(), ADDRESSES.c.id).limit(1)).scalar()
        if newest is not None:
            uow.session.execute(update(ADDRESSES).where(ADDRESSES.c.id == newest).values(is_default=True))
    uow.commit()
