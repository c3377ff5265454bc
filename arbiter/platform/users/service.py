"""The users module's public surface: what other modules and the API call.

Top-level use cases (register, login, complete_login, confirm_phone, cancel_account,
set_identity, add_bank_card, add_address, refresh_tags, ...) commit once; the reads
(get_user, user_facts, get_address, list_addresses, address_of, tags_of) and `tag_user` /
`apply_tag_effects` run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

from arbiter.platform.users.accounts import (
    cancel_account,
    confirm_phone,
    get_user,
    register,
    resolve_review,
    set_level,
)
from arbiter.platform.users.addresses import (
    add_address,
    address_of,
    get_address,
    list_addresses,
    remove_address,
    set_default_address,
)
from arbiter.platform.users.facts import user_facts
from arbiter.platform.users.login import complete_login, failed_logins, login
from arbiter.platform.users.profile import (
    add_bank_card,
    card_fingerprint,
    list_bank_cards,
    set_identity,
    set_nickname,
    users_with_id_number,
)
from arbiter.platform.users.tag_job import refresh_tags
from arbiter.platform.users.tags import apply_tag_effects, live_tags, tag_user, tags_of, untag_user
from arbiter.platform.users.validation import InvalidField
from arbiter.platform.users.verification import SimulatedVerifier, Verifier, simulated_code
from arbiter.platform.users.views import (
    AddressNotOwned,
    AddressView,
    BankCardView,
    Login,
    Outcome,
    Registration,
    TagView,
    UserNotFound,
    UserView,
)

__all__ = [
    "AddressNotOwned", "AddressView", "BankCardView", "InvalidField", "Login", "Outcome", "Registration",
    "SimulatedVerifier", "TagView", "UserNotFound", "UserView", "Verifier",
    "add_address", "add_bank_card", "address_of", "apply_tag_effects", "cancel_account", "card_fingerprint",
    "complete_login", "confirm_phone", "failed_logins", "get_address", "get_user", "list_addresses",
    "list_bank_cards", "live_tags", "login", "refresh_tags", "register", "remove_address", "resolve_review",
    "set_default_address", "set_identity", "set_level", "set_nickname", "simulated_code", "tag_user", "tags_of",
    "untag_user", "user_facts", "users_with_id_number",
]
