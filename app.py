"""Entry point: ``flask --app app run``, ``gunicorn app:app``."""

from iku_admin import create_app

app = create_app()
