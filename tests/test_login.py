"""Login and sessions: throttling per username and address, timing that does not tell which
usernames exist, sessions that end on every process, and the Secure cookie over HTTPS."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta

import pytest
from conftest import PASSWORD, csrf_token, dispose, login, make_app, make_user, post
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, update
from test_security import edit_form_version, try_login

import models.people
from models import LoginAttempt, Role, User

# --- throttling -------------------------------------------------------------------------------


def age_attempts(db, minutes: int) -> None:
    for attempt in db.session.scalars(select(LoginAttempt)).all():
        db.session.execute(
            update(LoginAttempt)
            .where(LoginAttempt.id == attempt.id)
            .values(at=attempt.at - timedelta(minutes=minutes))
        )
    db.session.commit()


def test_failures_block_that_username_from_that_address_only(app, client, db, people):
    limit = app.config["IKU_LOGIN_FAILURES"]
    for _ in range(limit):
        assert try_login(client, "staf", "bad-password", address="10.1.0.1").status_code == 401
    blocked = try_login(client, "staf", PASSWORD, address="10.1.0.1")
    assert blocked.status_code == 429 and "15" in blocked.text
    # The same user from another address, another user from the same address: not blocked.
    assert try_login(app.test_client(), "staf", PASSWORD, address="10.1.0.2").status_code == 302
    assert try_login(app.test_client(), "kadis", PASSWORD, address="10.1.0.1").status_code == 302
    # The block is counted in the database: it expires after 15 minutes.
    age_attempts(db, 16)
    assert try_login(app.test_client(), "staf", PASSWORD, address="10.1.0.1").status_code == 302


def test_the_address_ceiling_blocks_every_username_from_that_address(app, client, people):
    ceiling = app.config["IKU_ADDRESS_FAILURES"]
    assert ceiling > app.config["IKU_LOGIN_FAILURES"]
    for n in range(ceiling):
        assert try_login(client, f"guess{n}", "bad-password", address="10.2.0.1").status_code == 401
    assert try_login(client, "admin", PASSWORD, address="10.2.0.1").status_code == 429
    assert try_login(client, "admin", PASSWORD, address="10.2.0.2").status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_forwarded_address_is_throttled(db_url, app, db, people, proxies):
    """With IKU_PROXIES=1 the client's address comes from the proxy's X-Forwarded-For, so
    failures of one client do not block the same user elsewhere behind the proxy; without
    it, the header is ignored (a client could otherwise pick its own address)."""
    behind = make_app(db_url, IKU_PROXIES=proxies)
    try:
        client = behind.test_client()

        def attempt(password, forwarded):
            return client.post(
                "/login",
                data={"username": "admin", "password": password, "csrf_token": csrf_token(client)},
                environ_base={"REMOTE_ADDR": "10.9.9.9"},
                headers={"X-Forwarded-For": forwarded},
            )

        for _ in range(behind.config["IKU_LOGIN_FAILURES"]):
            attempt("bad-password", "192.0.2.7")
        other = attempt(PASSWORD, "192.0.2.8")
        addresses = set(db.session.scalars(select(LoginAttempt.address)))
    finally:
        dispose(behind)
    if proxies:
        assert other.status_code == 302 and addresses == {"192.0.2.7", "192.0.2.8"}
    else:
        assert other.status_code == 429 and addresses == {"10.9.9.9"}


def test_parallel_wrong_logins_check_the_password_at_most_the_limit(app, db, people, monkeypatch):
    """The attempt is recorded before the failures are counted and the password checked: 20
    wrong passwords sent at once (really at once on PostgreSQL) get no more checks than the
    limit (fewer when many are recorded before the first count; on SQLite, exactly it)."""
    checks, lock = [], threading.Lock()
    original = User.check_password

    def counted(user, password):
        with lock:
            checks.append(user.username)
        return original(user, password)

    monkeypatch.setattr(User, "check_password", counted)
    clients = [app.test_client() for _ in range(20)]
    tokens = [csrf_token(c) for c in clients]  # made here: it needs this thread's context
    start, statuses = threading.Barrier(len(clients)), []

    def attempt(client, token):
        start.wait()
        response = client.post(
            "/login",
            data={"username": "staf", "password": "bad-password", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "10.3.0.1"},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [
        threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limit = app.config["IKU_LOGIN_FAILURES"]
    assert len(checks) <= limit, len(checks)
    assert sorted(statuses) == [401] * len(checks) + [429] * (20 - len(checks))
    db.session.expire_all()
    assert len(db.session.scalars(select(LoginAttempt)).all()) == 20


def test_a_wrong_password_costs_the_same_for_known_unknown_and_inactive_users(app, db, monkeypatch):
    """The production hash (scrypt), not the suite's cheap one: a refused login costs as much
    whether or not the username exists or is active (median of several tries, within 20 %).
    Measured in this process's CPU time, which other work on the machine does not stretch."""
    monkeypatch.setattr(models.people, "PASSWORD_METHOD", "scrypt")
    make_user("known", "staf")
    make_user("retired", "staf", active=False)
    client = app.test_client()
    names = ["known", "nobody", "retired"]
    took: dict[str, list[float]] = {username: [] for username in names}
    for n in range(6):
        for username in names[n % 3 :] + names[: n % 3]:  # each goes first in turn
            began = time.process_time()
            response = try_login(client, username, "wrong-password", address=f"10.4.{n}.1")
            took[username].append(time.process_time() - began)
            assert response.status_code == 401
    median = {username: statistics.median(times[1:]) for username, times in took.items()}
    assert min(median.values()) >= 0.8 * max(median.values()), median


# --- sessions ---------------------------------------------------------------------------------


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str) -> int:
    """The status of a page asked for with a copy of a session cookie, from another client."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/admin/").status_code


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, people):
    login(client, "staf")
    cookie = session_cookie(client)
    other_device = app.test_client()
    login(other_device, "staf")
    assert replay(app, cookie) == 200
    post(client, "/logout")
    assert replay(app, cookie) == 302
    assert other_device.get("/admin/").status_code == 302  # logout ends every session
    login(client, "staf")  # and a new login works
    assert client.get("/admin/").status_code == 200


def test_a_password_changed_with_create_user_ends_the_sessions(app, client, people):
    login(client, "staf")
    cookie = session_cookie(client)
    result = app.test_cli_runner().invoke(
        args=["create-user", "staf", "--role", "staf"], input="sandi-baru-kuat\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert replay(app, cookie) == 302
    assert client.get("/admin/").status_code == 302


def edit_user(admin, db, user: User, **changes):
    url = f"/admin/user/edit/?id={user.id}"
    db.session.refresh(user)
    form = {
        "username": user.username, "full_name": user.full_name, "locale": user.locale,
        "roles": [role.id for role in user.roles], "active": "y" if user.active else "",
        "row_version": edit_form_version(admin, url), **changes,
    }  # fmt: skip
    response = post(admin, url, form)
    assert response.status_code == 302, response.text
    db.session.expire_all()


@pytest.mark.parametrize(
    "change", ["password", "roles", "deactivated and reactivated", "full name"]
)
def test_a_change_by_the_admin_ends_the_users_sessions(app, client, db, people, change):
    login(client, "staf")
    cookie = session_cookie(client)
    admin = app.test_client()
    login(admin, "admin")
    staf = people["staf"]
    if change == "password":
        edit_user(admin, db, staf, password="sandi-baru-kuat")
    elif change == "roles":
        tim = db.session.scalar(select(Role).where(Role.code == "tim_sakip"))
        edit_user(admin, db, staf, roles=[tim.id])
    elif change == "deactivated and reactivated":
        edit_user(admin, db, staf, active="")
        edit_user(admin, db, staf, active="y")
    else:
        edit_user(admin, db, staf, full_name="Staf Baru")
    ended = change != "full name"  # other edits leave the sessions alone
    assert replay(app, cookie) == (302 if ended else 200)
    assert client.get("/admin/").status_code == (302 if ended else 200)
    assert admin.get("/admin/").status_code == 200


def test_an_admin_changing_their_own_password_keeps_this_session_only(app, client, db, people):
    login(client, "admin")
    elsewhere = app.test_client()
    login(elsewhere, "admin")
    edit_user(client, db, people["admin"], password="sandi-baru-kuat")
    assert client.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302


def test_existing_users_keep_working_after_the_upgrade(app, client, db, people):
    """The session version comes with a server default: users made before it log in."""
    db.session.remove()
    downgrade(revision="0003_search_indexes")
    upgrade()
    assert set(db.session.scalars(select(User.session_version))) == {1}
    login(client, "staf")
    assert client.get("/admin/").status_code == 200


# --- the Secure cookie ------------------------------------------------------------------------


REFERER = {"Referer": "https://localhost/login"}  # Flask-WTF checks it over HTTPS


def login_cookie(client, **kwargs) -> str:
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(client)},
        **kwargs,
    )
    assert response.status_code == 302
    return response.headers["Set-Cookie"]


def test_the_session_cookie_is_secure_over_https(app, people):
    assert "Secure" not in login_cookie(app.test_client())
    https = login_cookie(app.test_client(), base_url="https://localhost", headers=REFERER)
    assert "Secure" in https


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_session_cookie_is_secure_behind_an_https_proxy(db_url, app, people, proxies):
    behind = make_app(db_url, IKU_PROXIES=proxies)
    try:
        headers = {"X-Forwarded-Proto": "https", **REFERER}
        cookie = login_cookie(behind.test_client(), headers=headers)
    finally:
        dispose(behind)
    assert ("Secure" in cookie) == bool(proxies)  # the header is trusted only from a proxy


def test_iku_https_always_makes_the_cookie_secure(db_url, app, people, monkeypatch):
    monkeypatch.setenv("IKU_HTTPS", "1")
    forced = make_app(db_url)
    try:
        assert "Secure" in login_cookie(forced.test_client())
    finally:
        dispose(forced)


def test_a_change_of_membership_from_the_roles_side_ends_the_sessions(app, db, people):
    staf = people["staf"]
    before = staf.session_version
    role = db.session.scalar(select(Role).where(Role.code == "staf"))
    role.users.remove(staf)
    db.session.commit()
    assert staf.session_version == before + 1
