"""The Redis names that announce a published ruleset version.

Every key and channel shares the `{rules}` hash tag, so on Redis Cluster they live in one
slot. The message is only a wake-up call: the database stays the source of truth, and a
reloader that misses a message catches up on its next safety poll.
"""

from __future__ import annotations

import json
import logging
from typing import Any

PUBLISHED_CHANNEL = "arbiter:{rules}:published"
CURRENT_KEY = "arbiter:{rules}:current"

log = logging.getLogger(__name__)


def announce(client: Any, number: int, hash: str) -> bool:
    """Tell subscribers that `number` is published; False when Redis could not be told (the
    publish itself stands: reloaders find it by polling)."""
    message = json.dumps({"number": number, "hash": hash})
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(CURRENT_KEY, message)
        pipe.publish(PUBLISHED_CHANNEL, message)
        pipe.execute()
    except Exception as exc:  # any Redis failure: the database already holds the truth
        log.warning("could not announce ruleset version %s on Redis: %s", number, exc)
        return False
    return True
