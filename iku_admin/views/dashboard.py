"""The Mutu Baku dashboard and the SOP evaluation form."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin) -> None:
    """Add this module's screens to the admin."""
