"""CSRF, login abuse, sessions, headers, concurrent edits and bad input."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from conftest import (
    PASSWORD,
    csrf_token,
    dispose,
    fill_iku,
    flashes,
    login,
    make_app,
    make_dossier,
    make_user,
    post,
)
from sqlalchemy import func, select
from test_permissions import routes

from iku_admin.seed import seed
from models import Base, Dossier, Indicator, LoginAttempt, Role, User


def count_rows(db) -> dict[str, int]:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_post_route_refuses_a_missing_or_wrong_token(app, client, db, people, token):
    login(client, "admin")
    before = count_rows(db)
    posts = [(e, url) for e, m, url in routes(app) if m == "POST" and e != "auth.login"]
    assert len(posts) > 20
    for endpoint, url in posts:
        data = {"title": "x", "name": "x", "username": "x"}
        if token:
            data["csrf_token"] = token
        response = client.post(url, data=data)
        assert response.status_code == 400, (endpoint, response.status_code)
    db.session.expire_all()
    assert count_rows(db) == before


def test_login_form_needs_a_token(client, people):
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302  # still not logged in


# --- login ------------------------------------------------------------------------------------


def try_login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_login_does_not_reveal_whether_the_user_exists(client, people):
    known = try_login(client, "admin", "wrong-password-1")
    unknown = try_login(client, "nobody-here", "wrong-password-1", address="10.0.0.2")
    assert known.status_code == unknown.status_code == 401
    assert flashes(known.text) == flashes(unknown.text)


def test_inactive_user_cannot_log_in(client, db):
    make_user("old", "staf", active=False)
    assert try_login(client, "old", PASSWORD).status_code == 401


def test_success_resets_the_count_and_every_attempt_is_recorded(client, db, people):
    for _ in range(4):
        try_login(client, "kadis", "bad-password")
    assert try_login(client, "kadis", PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    for _ in range(4):
        try_login(client, "kadis", "bad-password")
    assert try_login(client, "kadis", PASSWORD).status_code == 302
    rows = db.session.execute(select(LoginAttempt.success)).scalars().all()
    assert rows.count(False) == 8 and rows.count(True) == 2


def test_password_policy_on_the_user_form(client, db, people):
    login(client, "admin")
    role = db.session.scalar(select(Role).where(Role.code == "staf"))
    for password in ["short", "budi-rahasia-2026"]:
        response = post(
            client,
            "/admin/user/new/",
            {"username": "budi", "full_name": "Budi", "password": password, "roles": role.id,
             "locale": "id", "active": "y"},
        )  # fmt: skip
        assert response.status_code == 422, password
    assert db.session.scalar(select(User).where(User.username == "budi")) is None
    response = post(
        client,
        "/admin/user/new/",
        {"username": "budi", "full_name": "Budi", "password": "kuda-lari-kencang",
         "roles": role.id, "locale": "id", "active": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.username == "budi")).check_password(
        "kuda-lari-kencang"
    )


def test_session_cookie_flags(client, people):
    response = login(client, "admin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_idle_session_expires(db_url, app):
    short = make_app(db_url, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    try:
        with short.app_context():
            make_user("idle", "staf")
        client = short.test_client()
        login(client, "idle")
        assert client.get("/admin/").status_code == 200
        time.sleep(1.5)
        assert client.get("/admin/").status_code == 302
    finally:
        dispose(short)


def test_session_protection_is_strong(client, people):
    login(client, "admin")
    assert client.get("/admin/").status_code == 200
    other = client.get("/admin/", headers={"User-Agent": "another-browser"})
    assert other.status_code == 302


def test_logout_needs_post_and_ends_the_session(client, people):
    login(client, "admin")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/admin/").status_code == 302


def test_login_redirect_stays_on_this_site(client, people):
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/admin/"


# --- headers ----------------------------------------------------------------------------------


def test_security_headers_on_every_page(client, people):
    for url in ["/login", "/admin/"]:
        if url == "/admin/":
            login(client, "admin")
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        # Every script tag on the page carries this request's nonce.
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert f'nonce="{nonce}"' in tag, tag


def test_protected_pages_are_not_cached(client, people):
    login(client, "admin")
    assert client.get("/admin/dossier/").headers["Cache-Control"] == "no-store"


# --- concurrent edits -------------------------------------------------------------------------


def edit_form_version(client, url) -> str:
    page = client.get(url).text
    return re.search(r'name="row_version" type="hidden" value="(\d+)"', page).group(1)


def test_saving_a_record_someone_changed_is_refused(app, client, db, people):
    dossier = fill_iku(make_dossier())
    indicator = db.session.scalar(select(Indicator))
    url = f"/admin/indicator/edit/?id={indicator.id}"
    login(client, "timsakip")
    seen = edit_form_version(client, url)
    # Meanwhile someone else saves the same indicator.
    other = app.test_client()
    login(other, "staf")
    seen_other = edit_form_version(other, url)
    form = {
        "objective": indicator.objective_id, "order": 1, "name": "Versi staf",
        "definition": "d", "unit": "Persen", "polarity": "max", "baseline": "1",
        "data_source": "s", "responsible": "r",
    }  # fmt: skip
    assert post(other, url, {**form, "row_version": seen_other}).status_code == 302
    response = post(client, url, {**form, "name": "Versi tim", "row_version": seen})
    assert response.status_code == 422
    assert "oleh staf" in flashes(response.text)  # who, from the audit log
    db.session.expire_all()
    assert db.session.get(Indicator, indicator.id).name == "Versi staf"
    assert dossier.id


def test_a_forged_version_field_cannot_skip_the_check(app, client, db, people):
    fill_iku(make_dossier())
    indicator = db.session.scalar(select(Indicator))
    login(client, "timsakip")
    url = f"/admin/indicator/edit/?id={indicator.id}"
    response = post(client, url, {"objective": indicator.objective_id, "name": "Tanpa versi",
                                  "unit": "Persen", "polarity": "max"})  # fmt: skip
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Indicator, indicator.id).name != "Tanpa versi"


# --- bad input on the forms -------------------------------------------------------------------


def test_bad_user_input_gets_a_message_not_a_500(client, db, people):
    login(client, "admin")
    role = db.session.scalar(select(Role).where(Role.code == "staf"))
    base = {"username": "andi", "full_name": "Andi", "password": "sandi-panjang-sekali",
            "roles": role.id, "locale": "id", "active": "y"}  # fmt: skip
    for change in [
        {"username": ""},
        {"full_name": ""},
        {"nip": "19700930199703100"},  # 17 digits
        {"nip": "19701330199703 1 003"},  # month 13
        {"nip": "197009301960031003"},  # appointed before birth
        {"nip": "197009301997033003"},  # gender digit 3
        {"full_name": "x" * 10_000},
        {"username": "admin"},  # taken
    ]:
        before = count_rows(db)
        response = post(client, "/admin/user/new/", {**base, **change})
        assert response.status_code == 422, change
        db.session.expire_all()
        assert count_rows(db) == before, change


def test_a_target_year_outside_the_period_is_refused(client, db, people):
    fill_iku(make_dossier(period=(2026, 2030)))
    indicator = db.session.scalar(select(Indicator))
    login(client, "timsakip")
    response = post(client, "/admin/target/new/",
                    {"indicator": indicator.id, "year": 2035, "target": "1"})  # fmt: skip
    assert response.status_code == 422
    assert "2035" not in [str(t.year) for t in indicator.targets]


def test_a_dossier_with_a_bad_period_is_refused(client, db, people):
    login(client, "staf")
    before = db.session.scalar(select(func.count(Dossier.id)))
    form = {"title": "IKU", "period_start": "2030", "period_end": "2026",
            "letter_number": "1", "letter_date": "2026-01-05", "letter_sender": "Bappeda",
            "letter_subject": "IKU"}  # fmt: skip
    assert post(client, "/admin/dossier/new/", form).status_code == 422
    assert post(client, "/admin/dossier/new/", {**form, "title": ""}).status_code == 422
    assert post(client, "/admin/dossier/new/", {**form, "title": "x" * 10_000}).status_code == 422
    assert db.session.scalar(select(func.count(Dossier.id))) == before
    ok = post(client, "/admin/dossier/new/", {**form, "period_start": "2026", "period_end": "2030"})
    assert ok.status_code == 302
    dossier = db.session.scalar(select(Dossier).order_by(Dossier.id.desc()))
    assert dossier.current_step.position == 1


def test_seed_is_idempotent(app, db):
    before = count_rows(db)
    seed(db.session)
    seed(db.session)
    assert count_rows(db) == before


def test_a_content_edit_makes_an_open_review_page_stale(app, client, db, people):
    dossier = fill_iku(make_dossier())
    before = dossier.version
    indicator = db.session.scalar(select(Indicator))
    login(client, "timsakip")
    url = f"/admin/indicator/edit/?id={indicator.id}"
    form = {"objective": indicator.objective_id, "order": 1, "name": "Diubah",
            "definition": "d", "unit": "Persen", "polarity": "max", "baseline": "1",
            "data_source": "s", "responsible": "r",
            "row_version": edit_form_version(client, url)}  # fmt: skip
    assert post(client, url, form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).version > before
