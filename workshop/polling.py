"""Waiting for what another process writes: look, and look again until it is there.

The service's event logger ships a burst ~0.1-0.2 s after its last event, and Elasticsearch makes
it searchable at the next refresh; this process cannot ``flush()`` either. Every "wait until the
events are searchable" of the kit (``events``, ``monitoring``, ``feedback``, ``kibana``) is
:func:`poll` with its own probe, so they all look as often and stop at their deadline the same
way. A half-second pause added a quarter second on average to each wait (issue 15).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

POLL_S = 0.1

T = TypeVar("T")


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = POLL_S,
) -> T:
    """Call ``probe`` until ``done(result)`` or ``timeout`` seconds passed; the last result.

    ``probe`` runs at least once, and once more at the deadline (a pause never sleeps past it).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        remaining = deadline - time.monotonic()
        if done(result) or remaining <= 0:
            return result
        time.sleep(min(interval, remaining))
