"""The audit log: who created, changed or deleted which record, field by field."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Start recording changes of the audited models."""
