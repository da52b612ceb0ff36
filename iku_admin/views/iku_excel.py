"""Excel in: the IKU template download and its import into a dossier."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin) -> None:
    """Add this module's screens to the admin."""
