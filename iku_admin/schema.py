"""Emptying a database completely, for the test suite and the benchmarks (never the app)."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from .config import normalise_database_url


def drop_everything(url: str) -> None:
    """Drop every table, Alembic's included, so that migrations start from empty."""
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                for table in inspect(conn).get_table_names():
                    conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
    finally:
        engine.dispose()
