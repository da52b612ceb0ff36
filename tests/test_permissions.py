"""The permission matrix, walked over every route of the app, as anonymous and as each role."""

from __future__ import annotations

import pytest
from conftest import csrf_token, login, make_user
from sqlalchemy import func, select

from iku_admin import auth
from models import Base, Role, SopStep, User

PUBLIC = {"auth.login", "auth.language", "static", "admin.static"}
# Views that change data: refused to a role that may only read the screen.
WRITE_VIEWS = {"create_view", "edit_view", "delete_view", "ajax_update"}
# POST routes a reader may use: workflow actions are authorised per step by the workflow.
READER_POSTS = {
    "dossier.transition_view",
    "dossier.action_view",
    "auth.logout",
    "dashboard.evaluation_view",  # renders a printout from the posted form, stores nothing
    "dossier.iku_view",  # the IKU editor: authorised by write access to the content screens
}
ARGUMENTS = {"export_type": "csv", "filename": "x.css", "code": "id"}


def routes(app):
    """(endpoint, method, url) for every route; ids point at row 1."""
    found = []
    for rule in app.url_map.iter_rules():
        values = {name: ARGUMENTS.get(name, "1") for name in rule.arguments}
        url = rule.build(values)[1] + "?id=1"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def request(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client)})


def test_anonymous_is_sent_to_login_everywhere(app, client):
    for endpoint, method, url in routes(app):
        if endpoint in PUBLIC or endpoint.endswith(".static"):
            continue
        response = request(client, method, url)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/login"), endpoint


def expected_refusal(role: str, endpoint: str, method: str) -> bool:
    """Whether the matrix says this role is refused (403) at this route."""
    screen, _, view = endpoint.partition(".")
    if screen not in auth.DEFAULT_MATRIX:
        return False
    granted = auth.DEFAULT_MATRIX[screen].get(role)
    if granted is None:
        return True
    if granted == auth.WRITE:
        return False
    if view in WRITE_VIEWS:
        return True
    return method == "POST" and endpoint not in READER_POSTS


@pytest.mark.parametrize("role", auth.ROLES)
def test_each_role_gets_what_the_matrix_says(app, client, people, role):
    username = next(name for name, user in people.items() if role in user.role_codes)
    login(client, username)
    checked = 0
    for endpoint, method, url in routes(app):
        if endpoint in PUBLIC or endpoint.endswith(".static") or endpoint == "auth.logout":
            continue
        response = request(client, method, url)
        assert response.status_code < 500, (endpoint, method, response.text[:500])
        refused = expected_refusal(role, endpoint, method)
        if refused:
            assert response.status_code == 403, (role, endpoint, method, response.status_code)
            checked += 1
        elif endpoint.split(".")[1] in ("index_view", "index") and method == "GET":
            assert response.status_code == 200, (role, endpoint)
        # A refusal never comes as a redirect to the list (Flask-Admin's default).
        assert not (refused and response.status_code == 302)
    assert checked > 0 or role in ("sekretaris", "staf", "tim_sakip")


def test_every_screen_is_in_the_matrix(app):
    screens = {rule.endpoint.partition(".")[0] for rule in app.url_map.iter_rules()}
    assert screens - {"auth", "static", "admin"} <= set(auth.SCREENS)


def count_rows(db) -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def test_staf_cannot_create_a_user_or_edit_an_sop_step(app, client, db, people):
    login(client, "staf")
    before = count_rows(db)
    step = db.session.scalar(select(SopStep).where(SopStep.position == 1))
    response = client.post(
        "/admin/user/new/",
        data={"csrf_token": csrf_token(client), "username": "intruder", "full_name": "X",
              "password": "long-enough-password", "roles": "1", "active": "y"},
    )  # fmt: skip
    assert response.status_code == 403
    response = client.post(
        f"/admin/sop_step/edit/?id={step.id}",
        data={"csrf_token": csrf_token(client), "activity": "Dihapus", "time_value": "1",
              "time_unit": "menit", "position": "1", "kind": "task"},
    )  # fmt: skip
    assert response.status_code == 403
    db.session.expire_all()
    assert count_rows(db) == before
    assert db.session.get(SopStep, step.id).activity != "Dihapus"
    assert db.session.scalar(select(User).where(User.username == "intruder")) is None


def test_inline_edit_endpoint_is_closed_even_to_writers(app, client, db, people):
    login(client, "admin")
    role = db.session.scalar(select(Role).where(Role.code == "staf"))
    response = client.post(
        "/admin/role/ajax/update/",
        data={"csrf_token": csrf_token(client), "list_form_pk": role.id, "name": "Hacked"},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Role, role.id).name != "Hacked"


def test_inactive_user_loses_access_at_once(app, client, db, people):
    make_user("admin2", "admin")  # the last active admin cannot be deactivated
    login(client, "admin")
    assert client.get("/admin/user/").status_code == 200
    people["admin"].active = False
    db.session.commit()
    response = client.get("/admin/user/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_bulk_delete_checks_the_posted_ids(app, client, db, people):
    from datetime import date

    from models import CalendarDay

    db.session.add(CalendarDay(day=date(2026, 12, 24), kind="off", description="Cuti bersama"))
    db.session.commit()
    login(client, "admin")
    bad = client.post("/admin/calendar_day/action/",
                      data={"csrf_token": csrf_token(client), "action": "delete",
                            "rowid": ["1 OR 1=1"]})  # fmt: skip
    assert bad.status_code == 400
    assert db.session.scalar(select(func.count(CalendarDay.id))) == 1
    day_id = db.session.scalar(select(CalendarDay.id))
    ok = client.post("/admin/calendar_day/action/",
                     data={"csrf_token": csrf_token(client), "action": "delete",
                           "rowid": [str(day_id)]})  # fmt: skip
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CalendarDay.id))) == 0
