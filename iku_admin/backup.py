"""Backup and restore of every table in a portable format."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add the ``backup`` and ``restore`` commands."""
