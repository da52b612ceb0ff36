"""Roles and permissions as data: the matrix screen, a role made in the panel working end to
end, role codes that never change, and an admin who always remains."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, StatementCounter, flashes, login, make_dossier, make_user, post
from sqlalchemy import func, select
from test_workflow import advance, english  # noqa: F401 (autouse)
from test_workflow_web import act_as, buttons

from iku_admin import auth, workflow
from models import AuditEntry, Permission, Role, Sop, User
from models.validation import RuleError

MATRIX_URL = "/admin/permission/"


def matrix_form(client) -> dict[str, str]:
    """The matrix form as the browser would post it unchanged (disabled cells are not sent)."""
    html = client.get(MATRIX_URL).text
    data = dict(re.findall(r'name="(version-\d+)" value="(\d+)"', html))
    for select_tag in re.findall(r"<select[^>]*>.*?</select>", html, re.S):
        if " disabled" in select_tag.split(">")[0]:
            continue
        name = re.search(r'name="([^"]+)"', select_tag).group(1)
        chosen = re.search(r'<option value="([^"]*)" selected', select_tag)
        data[name] = chosen.group(1) if chosen else ""
    return data


def cell(role: Role, screen: str) -> str:
    return f"cell-{role.id}-{screen}"


def role(db, code: str) -> Role:
    return db.session.scalar(select(Role).where(Role.code == code))


def test_the_seed_stores_the_default_matrix(db):
    assert auth.current_matrix(db.session) == auth.DEFAULT_MATRIX


def test_the_matrix_screen_changes_access_at_the_next_page(db, client, people):
    staf = client
    login(staf, "staf")
    assert staf.get("/admin/role/").status_code == 403
    admin = client.application.test_client()
    login(admin, "admin")
    data = matrix_form(admin)
    data[cell(role(db, "staf"), "role")] = "read"
    data[cell(role(db, "staf"), "dossier")] = "read"  # was write
    logged_before = db.session.scalar(select(func.max(AuditEntry.id)))
    response = post(admin, MATRIX_URL, data)
    assert response.status_code == 302
    assert "Permissions saved: 2 changed." in flashes(admin.get(MATRIX_URL).text)
    assert staf.get("/admin/role/").status_code == 200
    assert staf.get("/admin/role/new/").status_code == 403
    assert staf.get("/admin/dossier/new/").status_code == 403  # now only read
    matrix = auth.current_matrix(db.session)
    assert matrix["role"]["staf"] == "read" and matrix["dossier"]["staf"] == "read"
    # Each changed cell is in the audit log.
    logged = db.session.scalars(select(AuditEntry).where(AuditEntry.id > logged_before)).all()
    assert sorted((e.table_name, e.action, e.username) for e in logged) == [
        ("permission", "create", "admin"), ("permission", "update", "admin")]  # fmt: skip


def test_a_stale_matrix_form_is_refused_whole(db, client, people):
    login(client, "admin")
    first, second = matrix_form(client), matrix_form(client)
    staf = role(db, "staf")
    first[cell(staf, "user")] = "read"
    assert post(client, MATRIX_URL, first).status_code == 302
    second[cell(staf, "audit_entry")] = "read"
    response = post(client, MATRIX_URL, second)
    assert response.status_code == 409
    assert "changed by someone else" in flashes(response.text)
    matrix = auth.current_matrix(db.session)
    assert matrix["user"].get("staf") == "read" and "staf" not in matrix["audit_entry"]


@pytest.mark.parametrize("value", ["admin", "WRITE", "read\x01"])
def test_a_level_not_offered_is_refused_and_nothing_is_saved(db, client, people, value):
    login(client, "admin")
    data = matrix_form(client)
    data[cell(role(db, "staf"), "user")] = "read"
    data[cell(role(db, "staf"), "sop")] = value
    assert post(client, MATRIX_URL, data).status_code == 400
    assert auth.current_matrix(db.session) == auth.DEFAULT_MATRIX


def test_the_admin_keeps_users_roles_and_the_matrix(db, client, people):
    login(client, "admin")
    data = matrix_form(client)
    admin = role(db, "admin")
    assert cell(admin, "permission") not in data  # shown disabled
    for screen in ("user", "role", "permission"):
        data[cell(admin, screen)] = ""
    assert post(client, MATRIX_URL, data).status_code == 302
    matrix = auth.current_matrix(db.session)
    assert [matrix[s]["admin"] for s in ("user", "role", "permission")] == ["write"] * 3
    assert client.get(MATRIX_URL).status_code == 200


def test_only_a_writer_of_the_matrix_may_save_it(db, client, people):
    login(client, "admin")
    data = matrix_form(client)
    act_as(client, "sekretaris")
    assert client.get(MATRIX_URL).status_code == 403
    data[cell(role(db, "sekretaris"), "user")] = "write"
    assert post(client, MATRIX_URL, data).status_code == 403
    assert auth.current_matrix(db.session) == auth.DEFAULT_MATRIX


def test_permissions_are_read_once_per_page(db, client, people):
    login(client, "staf")
    make_dossier()
    for url in ("/admin/dossier/", "/admin/"):
        with StatementCounter(db.engine) as counter:
            assert client.get(url).status_code == 200
        reads = [s for s in counter.statements if "FROM permission" in s]
        assert len(reads) == 1, (url, counter.count)


def test_a_role_made_in_the_panel_works_end_to_end(db, client, people):
    """Create a role over HTTP, grant it dossiers (read), put it on a step of a new SOP
    version, activate that version: its holder acts on a dossier from the dossier page."""
    login(client, "admin")
    response = post(client, "/admin/role/new/", {"code": "verifikator", "name": "Verifikator"})
    assert response.status_code == 302, flashes(response.text)
    verifikator = role(db, "verifikator")
    assert verifikator.permissions == []  # a new role opens nothing until granted
    response = post(client, "/admin/user/new/", {
        "username": "vera", "full_name": "Vera Verifikator", "roles": str(verifikator.id),
        "active": "y", "locale": "en", "password": PASSWORD,
    })  # fmt: skip
    assert response.status_code == 302, flashes(response.text)

    v1 = workflow.active_sop(db.session)
    post(client, "/admin/sop/action/", {"action": "new_version", "rowid": str(v1.id)})
    v2 = db.session.scalar(select(Sop).where(Sop.version == 2))
    step = v2.steps[5]  # 6: paraf
    from test_sop_versions import step_form

    response = post(client, f"/admin/sop_step/edit/?id={step.id}",
                    step_form(step, role=verifikator.id))  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    post(client, "/admin/sop/action/", {"action": "activate", "rowid": str(v2.id)})
    db.session.expire_all()
    assert workflow.active_sop(db.session).id == v2.id

    dossier = advance(make_dossier(), people, 6)
    assert dossier.current_step.role.code == "verifikator"
    act_as(client, "vera")
    assert client.get(f"/admin/dossier/details/?id={dossier.id}").status_code == 403
    # The task is in "Tugas Saya" already (the workflow follows the step's role).
    assert dossier.title in client.get("/admin/").text

    act_as(client, "admin")
    data = matrix_form(client)
    data[cell(verifikator, "dossier")] = "read"
    assert post(client, MATRIX_URL, data).status_code == 302

    act_as(client, "vera")
    page = client.get(f"/admin/dossier/details/?id={dossier.id}")
    assert page.status_code == 200
    url, version = buttons(page.text)["complete"]
    assert post(client, url, {"action": "complete", "version": version}).status_code == 303
    db.session.expire_all()
    assert dossier.current_step.position == 7
    assert dossier.records[-1].user.username == "vera"
    assert client.get("/admin/dossier/new/").status_code == 403  # read only


def test_a_role_code_never_changes_once_stored(db, client, people):
    kadis = role(db, "kepala_dinas")
    with pytest.raises(RuleError, match="cannot change"):
        kadis.code = "kadis"
    db.session.rollback()
    login(client, "admin")
    form = client.get(f"/admin/role/edit/?id={kadis.id}").text
    assert re.search(r'<input[^>]*name="code"[^>]*readonly', form)
    data = {"code": "kadis", "name": "Kepala", "row_version": kadis.row_version}
    response = post(client, f"/admin/role/edit/?id={kadis.id}", data)
    assert "cannot change" in flashes(response.text)
    db.session.expire_all()
    assert (kadis.code, kadis.name) == ("kepala_dinas", "Kepala Dinas")
    data = {"code": "kepala_dinas", "name": "Kepala Badan", "row_version": kadis.row_version}
    assert post(client, f"/admin/role/edit/?id={kadis.id}", data).status_code == 302
    db.session.expire_all()
    assert (kadis.code, kadis.name) == ("kepala_dinas", "Kepala Badan")
    # The head of agency keeps every screen and step.
    assert auth.can_read(people["kadis"], "dossier")


@pytest.mark.parametrize("code", ["Verifikator", "1abc", "veri fikator", ""])
def test_a_role_code_is_a_lowercase_identifier(db, client, people, code):
    login(client, "admin")
    response = post(client, "/admin/role/new/", {"code": code, "name": "Verifikator"})
    assert response.status_code != 302
    assert db.session.scalar(select(Role).where(Role.name == "Verifikator")) is None


def test_the_last_active_admin_stays(db, client, people):
    admin = people["admin"]
    login(client, "admin")
    form = {"username": "admin", "full_name": "Admin TI", "nip": "", "position": "", "rank": "",
            "locale": "en", "password": "", "roles": str(role(db, "admin").id)}  # fmt: skip
    # Deactivating the only admin is refused, with the reason.
    response = post(client, f"/admin/user/edit/?id={admin.id}",
                    form | {"row_version": admin.row_version})  # fmt: skip
    assert "last active administrator" in flashes(response.text)
    # So is taking the admin role away.
    response = post(client, f"/admin/user/edit/?id={admin.id}",
                    form | {"active": "y", "roles": str(role(db, "staf").id),
                            "row_version": admin.row_version})  # fmt: skip
    assert "last active administrator" in flashes(response.text)
    db.session.expire_all()
    assert admin.active and admin.role_codes == {"admin"}
    # With a second admin, either is allowed.
    make_user("admin2", "admin")
    response = post(client, f"/admin/user/edit/?id={admin.id}",
                    form | {"active": "y", "roles": str(role(db, "staf").id),
                            "row_version": admin.row_version})  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert admin.role_codes == {"staf"}


def test_no_code_path_removes_the_last_admin(db, people):
    with pytest.raises(RuleError, match="last active administrator"):
        people["admin"].active = False
        db.session.commit()
    db.session.rollback()
    with pytest.raises(RuleError, match="last active administrator"):
        db.session.delete(role(db, "admin"))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(User.active).where(User.username == "admin"))
    assert db.session.scalar(select(Permission).where(Permission.screen == "user"))
