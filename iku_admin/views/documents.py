"""The official documents: the IKU table and the SOP sheet (HTML, PDF, XLSX)."""

from __future__ import annotations

from flask_admin import Admin


def register(admin: Admin) -> None:
    """Add this module's screens to the admin."""
