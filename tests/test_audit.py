"""The audit log: every create, update and delete of the audited tables, who and what."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import login, make_dossier, make_user, post
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from iku_admin import workflow
from models import (
    Agency,
    AppendOnlyError,
    AuditEntry,
    Dossier,
    Indicator,
    IndicatorTarget,
    Procedure,
    Role,
    Sop,
    SopStep,
    StepRecord,
    StrategicObjective,
    User,
)

AUDITED_TABLES = {"app_user", "role", "permission", "sop_procedure", "sop", "sop_step",
                  "strategic_objective",
                  "indicator", "indicator_target", "dossier", "agency"}  # fmt: skip
OTHER_ROLES = ["kadis", "sekretaris", "perencana", "timsakip", "staf"]


def entries(db, table: str | None = None, row_id=None, action: str | None = None):
    query = select(AuditEntry).order_by(AuditEntry.id)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if row_id is not None:
        query = query.where(AuditEntry.row_id == str(row_id))
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def last_change(db, table: str, row_id, action: str) -> dict:
    found = entries(db, table, row_id, action)
    assert found, f"no {action} entry for {table}#{row_id}"
    return json.loads(found[-1].changes)


def count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def iku(db, people):
    """A dossier with one objective, one indicator and its yearly targets."""
    dossier = make_dossier()
    objective = StrategicObjective(dossier=dossier, name="Meningkatnya investasi", order=1)
    indicator = Indicator(
        objective=objective, name="Nilai investasi", unit="Miliar Rupiah", order=1,
        targets=[IndicatorTarget(year=2026, target=Decimal("900.50")),
                 IndicatorTarget(year=2027, target=Decimal("950.00"))],
    )  # fmt: skip
    db.session.add(objective)
    db.session.commit()
    return dossier, objective, indicator


def test_every_audited_table_records_creation_with_new_values(db, iku):
    dossier, _objective, indicator = iku
    assert {e.table_name for e in entries(db, action="create")} == AUDITED_TABLES

    created = last_change(db, "dossier", dossier.id, "create")
    assert created["title"] == {"old": None, "new": "IKU 2026–2030"}
    assert created["letter_date"]["new"] == "2026-01-05"  # dates in ISO 8601
    started = datetime.fromisoformat(created["step_started_at"]["new"])
    assert started.tzinfo is not None and started == dossier.step_started_at
    assert created["finished_at"] == {"old": None, "new": None}
    target = indicator.targets[0]
    assert last_change(db, "indicator_target", target.id, "create")["target"] == {
        "old": None, "new": "900.50"}  # fmt: skip
    entry = entries(db, "indicator", indicator.id, "create")[-1]
    assert (entry.user_id, entry.username) == (None, "system")  # no request, no command


@pytest.mark.parametrize(
    ("model", "field", "value", "old", "new"),
    [
        (User, "full_name", "Ir. Budi Ñandú", "Staf", "Ir. Budi Ñandú"),
        (Role, "name", "Tim SAKIP Daerah", None, "Tim SAKIP Daerah"),
        (Sop, "warning", "Awas", "", "Awas"),
        (SopStep, "notes", "Lihat juknis", None, "Lihat juknis"),
        (StrategicObjective, "name", "Meningkatnya layanan", "Meningkatnya investasi",
         "Meningkatnya layanan"),
        (Indicator, "baseline", "850", "", "850"),
        (IndicatorTarget, "target", Decimal("1000.25"), "900.50", "1000.25"),
        (Dossier, "letter_date", date(2026, 2, 1), "2026-01-05", "2026-02-01"),
        (Agency, "place", "Tungkal Ilir", "Kuala Tungkal", "Tungkal Ilir"),
    ],
)  # fmt: skip
def test_update_records_only_the_changed_field_old_and_new(db, iku, model, field, value, old,
                                                           new):  # fmt: skip
    row = db.session.scalars(select(model).order_by(model.id)).first()
    if model is User:
        row = db.session.scalar(select(User).where(User.username == "staf"))
    old = getattr(row, field) if old is None else old
    db.session.commit()  # expires the row: the old value must still be found
    setattr(row, field, value)
    db.session.commit()
    changes = last_change(db, model.__table__.name, row.id, "update")
    assert changes[field] == {"old": old, "new": new}
    assert set(changes) <= {field, "row_version", "version"}


def test_delete_records_the_old_values_also_of_cascaded_and_orphan_rows(db, iku):
    _dossier, objective, indicator = iku
    orphan_id, other_id = indicator.targets[0].id, indicator.targets[1].id
    indicator.targets.remove(indicator.targets[0])  # delete-orphan
    db.session.commit()
    assert last_change(db, "indicator_target", orphan_id, "delete")["target"] == {
        "old": "900.50", "new": None}  # fmt: skip

    db.session.commit()
    db.session.delete(objective)  # expired; cascades to the indicator and its target
    db.session.commit()
    assert last_change(db, "strategic_objective", objective.id, "delete")["name"] == {
        "old": "Meningkatnya investasi", "new": None}  # fmt: skip
    assert last_change(db, "indicator", indicator.id, "delete")["unit"]["old"] == "Miliar Rupiah"
    assert last_change(db, "indicator_target", other_id, "delete")["year"]["old"] == 2027

    guest = make_user("tamu", "staf", "perencana")
    db.session.delete(guest)
    db.session.commit()
    deleted = last_change(db, "app_user", guest.id, "delete")
    assert deleted["username"] == {"old": "tamu", "new": None}
    assert deleted["roles"] == {"old": ["perencana", "staf"], "new": None}
    assert "password" not in deleted and "password_hash" not in deleted


def test_password_change_is_recorded_without_the_hash(db, people):
    user = people["staf"]
    assert last_change(db, "app_user", user.id, "create")["password"] == {"changed": True}
    user.set_password("another-password-456")
    db.session.commit()
    assert last_change(db, "app_user", user.id, "update") == {"password": {"changed": True}}
    logged = " ".join(e.changes for e in entries(db, "app_user"))
    assert "pbkdf2" not in logged and user.password_hash not in logged
    assert "password_hash" not in logged


def test_the_emblem_is_recorded_by_size_and_digest_not_content(db, people):
    agency = db.session.scalars(select(Agency)).one()
    emblem = b"<svg xmlns='http://www.w3.org/2000/svg'/>" + b" " * 5000
    agency.emblem, agency.emblem_type = emblem, "image/svg+xml"
    db.session.commit()
    changes = last_change(db, "agency", agency.id, "update")
    assert changes["emblem"] == {
        "old": None,
        "new": {"bytes": 5041, "sha256": hashlib.sha256(emblem).hexdigest()},
    }
    assert changes["emblem_type"] == {"old": "", "new": "image/svg+xml"}
    assert len(entries(db, "agency")[-1].changes) < 500


def test_role_membership_changes_are_recorded_on_the_user(db, people):
    user, user_id = people["staf"], people["staf"].id
    assert last_change(db, "app_user", user_id, "create")["roles"] == {
        "old": None, "new": ["staf"]}  # fmt: skip
    perencana = db.session.scalar(select(Role).where(Role.code == "perencana"))
    user.roles.append(perencana)
    db.session.commit()
    assert last_change(db, "app_user", user_id, "update")["roles"] == {
        "old": ["staf"], "new": ["perencana", "staf"]}  # fmt: skip
    user.roles = [perencana]
    db.session.commit()
    assert last_change(db, "app_user", user_id, "update")["roles"] == {
        "old": ["perencana", "staf"], "new": ["perencana"]}  # fmt: skip
    # From the role's side, while the user's roles are not loaded (expired by the commit).
    staf = db.session.scalar(select(Role).where(Role.code == "staf"))
    staf.users.append(user)
    db.session.commit()
    assert last_change(db, "app_user", user_id, "update")["roles"] == {
        "old": ["perencana"], "new": ["perencana", "staf"]}  # fmt: skip


def test_workflow_transitions_are_left_to_the_step_history(db, people):
    dossier = make_dossier()
    before = count(db)
    workflow.complete(dossier, people["kadis"])
    assert db.session.scalar(select(func.count()).select_from(StepRecord)) == 1
    assert count(db) == before


def test_a_failed_flush_leaves_no_entry(db, people):
    staf = db.session.scalar(select(Role.id).where(Role.code == "staf"))
    steps = [SopStep(position=1, activity=f"Langkah {n}", role_id=staf, time_value=5,
                     time_unit="menit") for n in (1, 2)]  # fmt: skip
    # The SOP row is inserted, then its steps collide on (sop, position): all rolled back.
    db.session.add(
        Sop(
            number="999/UJI", name="Uji", steps=steps, procedure_id=Procedure.default_id(db.session)
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Role(code="bendahara", name="Bendahara"))
    db.session.commit()
    assert entries(db, "role", action="create")[-1].changes.count("bendahara") == 1
    assert not [e for e in entries(db, "sop") if "999/UJI" in e.changes]


def test_entries_are_append_only(db, people):
    entry = entries(db)[-1]
    entry.username = "someone else"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(entries(db)[-1])
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()


def test_a_command_is_recorded_as_cli(app, db, people):
    result = app.test_cli_runner().invoke(
        args=["create-user", "budi", "--role", "staf", "--password", "rahasia-kantor-1"]
    )
    assert result.exit_code == 0, result.output
    budi = db.session.scalar(select(User).where(User.username == "budi"))
    entry = entries(db, "app_user", budi.id, "create")[-1]
    assert (entry.user_id, entry.username) == (None, "cli")


def test_a_request_is_recorded_under_the_signed_in_user(client, db, people):
    login(client, "admin")
    response = post(client, "/admin/role/new/", {"code": "kasubag", "name": "Kasubag Umum"})
    assert response.status_code == 302, response.text
    role = db.session.scalar(select(Role).where(Role.code == "kasubag"))
    entry = entries(db, "role", role.id, "create")[-1]
    assert (entry.user_id, entry.username) == (people["admin"].id, "admin")
    assert json.loads(entry.changes)["name"]["new"] == "Kasubag Umum"


# --- The screen ------------------------------------------------------------------------------


def filter_param(app, column: str, operation: str = "equals") -> str:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "audit_entry")
    for index, flt in enumerate(view._filters):
        if flt.column.name == column and flt.operation() == operation:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(f"no {operation} filter on {column}")


@pytest.fixture
def logged(app, db, people, client):
    """An entry by admin (a new role over HTTP) among the entries made by the system."""
    login(client, "admin")
    post(client, "/admin/role/new/", {"code": "kasubag", "name": "Kasubag Umum"})
    make_dossier(title="Dossier made by the system")
    return client


def test_admin_lists_filters_and_exports_the_log(app, logged, english):
    client = logged
    page = client.get("/admin/audit_entry/")
    assert page.status_code == 200
    assert "Kasubag Umum" in page.text and "Dossier made by the system" in page.text

    by_table = client.get("/admin/audit_entry/", query_string={
        filter_param(app, "table_name"): "dossier"})  # fmt: skip
    assert by_table.status_code == 200
    assert "Dossier made by the system" in by_table.text and "Kasubag Umum" not in by_table.text

    by_user = client.get("/admin/audit_entry/", query_string={
        filter_param(app, "username"): "admin"})  # fmt: skip
    assert by_user.status_code == 200
    assert "Kasubag Umum" in by_user.text and "Dossier made by the system" not in by_user.text

    export = client.get("/admin/audit_entry/export/csv/", query_string={
        filter_param(app, "username"): "admin"})  # fmt: skip
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8"))))
    assert len(rows) == 2 and "Kasubag Umum" in rows[1][-1] and "admin" in rows[1]


def test_the_log_cannot_be_changed_through_the_screen(app, logged):
    entry_id = entries(app.extensions["sqlalchemy"], "role")[-1].id
    assert logged.get("/admin/audit_entry/new/").status_code == 403
    assert post(logged, f"/admin/audit_entry/edit/?id={entry_id}", {"username": "x"}
                ).status_code == 403  # fmt: skip
    assert post(logged, "/admin/audit_entry/delete/", {"id": entry_id}).status_code == 403


@pytest.mark.parametrize("username", OTHER_ROLES)
def test_other_roles_cannot_see_the_log(client, people, username):
    login(client, username)
    for url in ["/admin/audit_entry/", "/admin/audit_entry/export/csv/",
                "/admin/audit_entry/details/?id=1"]:  # fmt: skip
        assert client.get(url).status_code == 403, url


def test_the_log_reads_in_words_not_json(app, db, people, client):
    """Indonesian action names, the screens' own field labels, old → new; no raw JSON."""
    dossier = make_dossier(title="Judul lama")
    dossier.title = "Judul baru"
    dossier.letter_sender = "Bappeda Provinsi"
    db.session.commit()
    login(client, "admin")
    html = client.get("/admin/audit_entry/").text
    changed = re.search(r"<tr\b(?:(?!</tr>).)*Judul baru.*?</tr>", html, re.S).group(0)
    assert "Diubah" in changed and "Berkas" in changed  # the action, the dossiers' screen
    assert re.search(r"<strong>Judul</strong>: <span[^>]*>Judul lama</span> → Judul baru",
                     changed)  # fmt: skip
    assert "<strong>Pengirim surat</strong>" in changed  # the dossier screen's own label
    assert "Dibuat" in html
    assert '"old"' not in html and "&#34;old&#34;" not in html and "{&#34;" not in html
    export = client.get("/admin/audit_entry/export/csv/").data.decode("utf-8-sig")
    assert "Judul: Judul lama → Judul baru" in export and '"old"' not in export
