"""Every place that sends the browser on (Flask-Admin's ``url``, our ``next``) stays on this
site: a foreign target, in any of the forms browsers accept, ends on the view's list."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import PASSWORD, csrf_token, fill_iku, login, make_dossier, make_user, post
from flask import url_for
from flask_admin.model import BaseModelView
from flask_login import login_user

from iku_admin import auth
from iku_admin.views.redirects import is_same_site_path
from models import StrategicObjective

MARK = "evil.example"
# Each names the foreign host, so that the test can see whether it leaked anywhere.
FOREIGN = [
    "http://evil.example/", "https://evil.example/x?y=1", "HTTPS://evil.example",
    "//evil.example/", "///evil.example", "////evil.example/",
    "http:evil.example", "https:evil.example", "http:/evil.example", "https:/evil.example",
    "http:\\\\evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    " //evil.example", "\t//evil.example", "\n//evil.example", "\x01//evil.example",
    "\x1f//evil.example", "\x7f//evil.example", "  http://evil.example", "\u3000//evil.example",
    "http://localhost@evil.example/", "http://localhost.evil.example/",
    "javascript://evil.example/%0aalert(1)", "JaVaScRiPt:alert('evil.example')",
    "java\tscript:alert('evil.example')", " javascript:alert('evil.example')",
    "data:text/html,evil.example", "vbscript:evil.example",
]  # fmt: skip
REDIRECTS = (301, 302, 303, 307, 308)


# Where a page sends the browser: links, forms, and the return fields of its forms.
LINKS = re.compile(r'(?<![\w-])(?:href|action|src|formaction)="([^"]*)"')
RETURN_FIELDS = re.compile(r'<input[^>]*(?<![\w-])name="(?:url|next)"[^>]*>')


def assert_path_here(url: str, context) -> None:
    """``url`` is a path on this site (not a URL that a browser takes elsewhere)."""
    parts = urlsplit(url)
    assert not parts.scheme and not parts.netloc, (context, url)
    assert url.startswith("/") and url[1:2] not in ("/", "\\"), (context, url)
    assert url.isascii() and url.isprintable() and " " not in url, (context, url)


def assert_stays_here(response, context) -> None:
    """A redirect goes to a path on this site, with no trace of the foreign target; every
    link, form and return field of a page goes to a path on this site."""
    assert response.status_code < 500, (context, response.status_code)
    if response.status_code in REDIRECTS:
        location = response.headers["Location"]
        assert_path_here(location, context)
        assert MARK not in location, (context, location)
        return
    page = response.text
    fields = [re.search(r'value="([^"]*)"', tag) for tag in RETURN_FIELDS.findall(page)]
    for url in [*LINKS.findall(page), *(f.group(1) for f in fields if f)]:
        # this page and places in it (the skip link), Flask-Admin's scripts, and the empty
        # favicon that spares a request
        if url not in ("", "javascript:void(0)", "data:,") and not url.startswith("#"):
            assert_path_here(html.unescape(url), context)


@pytest.fixture
def everyone(db, client, people):
    """Signed in with every role, over data that every screen can show."""
    fill_iku(make_dossier())
    user = make_user("semua", *auth.ROLES)
    login(client, "semua")
    return user


def cases(app, user) -> list[tuple[str, str, str, dict]]:
    """(view, method, url, form) of every registered view's page and of each model view's
    endpoints that go back to a return target: details, edit, delete and export without an
    id (Flask-Admin then redirects), create, a row's details and edit page, a list action."""
    found = []
    with app.test_request_context():
        login_user(user)  # what the user may do decides which endpoints are open
        for view in app.extensions["admin"][0]._views:  # Flask-Admin keeps no public list

            def at(name, method="GET", form=None, view=view, **args):
                return (view.endpoint, method, url_for(f"{view.endpoint}.{name}", **args), form)

            if not isinstance(view, BaseModelView):
                found.append(at("index"))
                continue
            found += [at("index_view"), at("details_view"), at("export", export_type="none")]
            if view.can_edit:
                found.append(at("edit_view"))
            if view.can_delete:
                found.append(at("delete_view", "POST"))
            if view.can_create:
                found += [at("create_view"), at("create_view", "POST")]
            row = view.get_query().first()
            if row is not None:
                found.append(at("details_view", id=view.get_pk_value(row)))
                if view.can_edit:
                    found.append(at("edit_view", id=view.get_pk_value(row)))
            actions = view.get_actions_list()[0]
            if actions:  # the action form carries its return target as a form field
                found.append(at("action_view", "POST", {"action": actions[0][0]}))
    return found


@pytest.mark.parametrize("target", FOREIGN)
def test_flask_admin_views_return_only_to_this_site(app, client, everyone, target):
    checked = cases(app, everyone)
    for endpoint, method, url, form in checked:
        url += ("&" if "?" in url else "?") + urlencode({"url": target})
        if method == "GET":
            response = client.get(url)
        else:
            response = post(client, url, {"url": target, **(form or {})})
        assert_stays_here(response, (endpoint, method, url, target))
    assert len(checked) > 60


@pytest.mark.parametrize("target", FOREIGN)
def test_saving_returns_only_to_this_site(db, client, people, target):
    dossier = fill_iku(make_dossier())
    login(client, "timsakip")
    query = {"url": target}
    form = {"dossier": dossier.id, "order": 2, "name": "Baru"}
    created = post(client, "/admin/objective/new/?" + urlencode(query), form)
    assert created.status_code == 302
    assert_stays_here(created, "create")
    assert created.headers["Location"] == "/admin/objective/"
    objective = db.session.query(StrategicObjective).filter_by(name="Baru").one()
    url = f"/admin/objective/edit/?id={objective.id}&" + urlencode(query)
    form = {**form, "row_version": objective.row_version, "_continue_editing": "1"}
    kept = post(client, url, form)
    assert_stays_here(kept, "save and continue")
    assert parse_qs(urlsplit(kept.headers["Location"]).query)["url"] == ["/admin/objective/"]
    db.session.expire_all()
    deleted = post(client, "/admin/objective/delete/?" + urlencode(query), {"id": objective.id})
    assert_stays_here(deleted, "delete")
    assert deleted.headers["Location"] == "/admin/objective/"


def test_a_same_site_target_is_followed(db, client, people):
    dossier = fill_iku(make_dossier())
    login(client, "timsakip")
    back = f"/admin/dossier/details/?id={dossier.id}"
    response = post(client, "/admin/objective/new/?" + urlencode({"url": back}),
                    {"dossier": dossier.id, "order": 2, "name": "Baru"})  # fmt: skip
    assert response.headers["Location"] == back


@pytest.mark.parametrize("target", FOREIGN)
def test_login_goes_on_only_to_this_site(db, client, people, target):
    url = "/login?" + urlencode({"next": target})
    response = client.post(url, data={"username": "staf", "password": PASSWORD,
                                      "csrf_token": csrf_token(client)})  # fmt: skip
    assert response.status_code == 302
    assert_stays_here(response, "login")
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", FOREIGN)
def test_the_language_switch_goes_on_only_to_this_site(db, client, people, target):
    response = post(client, "/language/en", {"next": target})
    assert_stays_here(response, "language")
    login(client, "staf")
    response = post(client, "/language/id", {"next": target})
    assert_stays_here(response, "language")


@pytest.mark.parametrize("target", FOREIGN[:6])
def test_a_workflow_action_returns_to_the_dossier(db, client, people, target):
    dossier = make_dossier()
    login(client, "kadis")
    url = f"/admin/dossier/transition/?id={dossier.id}&" + urlencode({"url": target})
    response = post(client, url, {"action": "complete", "version": dossier.version, "url": target})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/dossier/details/?id={dossier.id}"


@pytest.mark.parametrize(
    "target",
    ["/admin/", "/admin/dossier/?search=a%20b&page=2", "/", "/login?next=%2Fadmin%2F"],
)
def test_paths_on_this_site_are_same_site(target):
    assert is_same_site_path(target)


@pytest.mark.parametrize("target", [*FOREIGN, "", "admin/", "?x=1", None])
def test_anything_else_is_not(target):
    assert not is_same_site_path(target)
