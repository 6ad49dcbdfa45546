"""Errors whose message is shown to the participant (pt-BR).

Every module raises a subclass of :class:`WorkshopError` for conditions a participant can
cause or fix; the CLI, the service and the widgets show ``str(error)`` as it is.
"""

from __future__ import annotations


class WorkshopError(Exception):
    """Base class: the message is participant-facing Brazilian Portuguese."""


class ConfigError(WorkshopError):
    """A WORKSHOP_* setting has an invalid value."""


class StackError(WorkshopError):
    """Elasticsearch / the embedded engine cannot be started, reached or used."""


class InvalidInputError(WorkshopError):
    """The participant asked for something invalid (date, product, flag)."""


class ModelNotFoundError(WorkshopError):
    """No trained model, or the requested version does not exist."""


class ArgumentError(InvalidInputError):
    """A command-line argument out of range or malformed: the CLI exits 2, like a usage error."""
