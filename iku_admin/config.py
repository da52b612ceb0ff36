"""Configuration read from the environment, with sensible defaults for one office."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-change-me"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """Build the Flask config from environment variables (see README, "Configuration")."""
    idle = int(os.environ.get("IKU_IDLE_MINUTES", "30"))
    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'iku.db'}")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        "IKU_DEMO": _flag("IKU_DEMO"),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Also Secure on every request that came over HTTPS (see iku_admin.SessionInterface).
        "SESSION_COOKIE_SECURE": _flag("IKU_HTTPS"),
        "REMEMBER_COOKIE_SECURE": _flag("IKU_HTTPS"),
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle),
        "MAX_CONTENT_LENGTH": int(os.environ.get("IKU_MAX_UPLOAD_MB", "5")) * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": os.environ.get("IKU_LOCALE", "id"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("IKU_TIMEZONE", "Asia/Jakarta"),
        "IKU_TIMEZONE": os.environ.get("IKU_TIMEZONE", "Asia/Jakarta"),
        "IKU_AGENCY": os.environ.get(
            "IKU_AGENCY", "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu"
        ),
        "IKU_GOVERNMENT": os.environ.get(
            "IKU_GOVERNMENT", "Pemerintah Kabupaten Tanjung Jabung Barat"
        ),
        "IKU_PLACE": os.environ.get("IKU_PLACE", "Kuala Tungkal"),
        # Reverse proxies / load balancers in front of the app whose X-Forwarded-For and
        # X-Forwarded-Proto headers are trusted (0: none, the client connects directly).
        "IKU_PROXIES": int(os.environ.get("IKU_PROXIES", "0")),
        # Login throttling (iku_admin.auth): failed logins within 15 minutes allowed for one
        # username from one address, and from one address for all usernames together.
        "IKU_LOGIN_FAILURES": int(os.environ.get("IKU_LOGIN_FAILURES", "5")),
        "IKU_ADDRESS_FAILURES": int(os.environ.get("IKU_ADDRESS_FAILURES", "50")),
        "WTF_CSRF_TIME_LIMIT": None,
        # Pages compressed by the app itself (Flask-Compress), Brotli where the browser accepts
        # it (rather than zstd: the static files have Brotli and gzip); static files are
        # compressed once in advance (assets.py).
        "COMPRESS_ALGORITHM": ["br", "gzip"],
    }
