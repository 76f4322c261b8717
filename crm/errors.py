"""Errors the services raise; views turn them into messages."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule was broken; ``message`` is already translated (lazy) for the user."""

    def __init__(self, message, field: str | None = None):
        # Keep the lazy string lazy: it is rendered in the reader's language, and
        # services also run outside requests (Celery tasks, the console).
        super().__init__(message)
        self.message = message
        self.field = field


class StaleEditError(ServiceError):
    """The record changed since the form was opened (optimistic locking)."""


class DuplicateError(ServiceError):
    """The record already exists; ``existing_id`` points to it."""

    def __init__(self, message, field: str | None = None, existing_id: int | None = None):
        super().__init__(message, field)
        self.existing_id = existing_id
