"""The README tells the truth about the permission matrix and the commands."""

from __future__ import annotations

import re
from pathlib import Path

from iku_admin import auth

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_permission_table_matches_the_code():
    table = README.split("<!-- permissions:start -->")[1].split("<!-- permissions:end -->")[0]
    assert table.strip() == auth.matrix_markdown(auth.DEFAULT_MATRIX)


def test_documented_commands_exist(app):
    commands = set(app.cli.commands) | {"db"}  # "db" comes from Flask-Migrate
    documented = set(re.findall(r"flask --app app ([a-z-]+)", README))
    documented |= {"restore"} if "`restore FILE`" in README else set()
    assert {"seed", "demo", "create-user", "backup"} <= documented
    assert documented <= commands
