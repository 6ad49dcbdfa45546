"""The process-wide logger: one per process, started on first use, closed at exit or by the
service's lifespan, forgotten by a forked child (whose worker thread did not survive)."""

from __future__ import annotations

import atexit
import contextlib
import os
import threading

from workshop.events.logger import EventLogger

_default: EventLogger | None = None
_default_lock = threading.Lock()


def default_logger() -> EventLogger:
    """The process-wide logger (``WORKSHOP_*`` settings), started on first use, closed at exit
    (the service closes it in its lifespan: uvicorn re-raises SIGTERM, so atexit never runs)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = EventLogger.from_settings()
                atexit.register(_close_default)
    return _default


def close_default(timeout: float = 5.0) -> None:
    """Close the process-wide logger, if started (the next :func:`default_logger` starts anew)."""
    global _default
    with _default_lock:
        logger, _default = _default, None
    if logger is not None:
        logger.close(timeout=timeout)


def _close_default() -> None:
    close_default(timeout=5.0)


def _forget_default_after_fork() -> None:
    # The worker thread does not survive fork(): the child starts its own logger (and journal)
    # on first use, and drops its copy of the parent's journal lock so the lock still dies
    # with the parent.
    global _default
    logger, _default = _default, None
    if logger is not None:
        with contextlib.suppress(OSError):
            logger.journal.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_default_after_fork)
