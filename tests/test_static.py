"""A slow link: static files versioned by content and cached for good, pages and static files
compressed, and each page loading only the stylesheets and scripts it uses."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import brotli
import pytest
from conftest import fill_iku, login, make_dossier
from flask import Flask, url_for

from iku_admin import assets

CHROME = {"Accept-Encoding": "gzip, deflate, br, zstd"}
GZIP = {"Accept-Encoding": "gzip"}
PAGES = (
    "/admin/",
    "/admin/dossier/",
    "/admin/dossier/details/?id={id}",
    "/admin/dashboard/",
    "/admin/dossier/new/",
    "/admin/dossier/edit/?id={id}",
    "/admin/indicator/new/",
    "/admin/user/new/",
)
FORM_SCRIPTS = ("select2", "moment", "daterangepicker")


def decoded(response) -> bytes:
    decode = {"gzip": gzip.decompress, "br": brotli.decompress, None: bytes}
    return decode[response.headers.get("Content-Encoding")](response.data)


@pytest.fixture
def crawled(app, people) -> dict[str, object]:
    """Every main page each role can open (and the login page), fetched accepting gzip."""
    dossier = fill_iku(make_dossier())
    pages = {"/login": app.test_client().get("/login", headers=GZIP)}
    for username in people:
        client = app.test_client()
        login(client, username)
        for page in PAGES:
            url = page.format(id=dossier.id)
            response = client.get(url, headers=GZIP)
            if response.status_code == 200:
                pages[f"{username} {url}"] = response
    assert len(pages) > 20
    return pages


def static_urls(app: Flask, page: bytes) -> set[str]:
    prefixes = tuple(prefix for _endpoint, prefix, _folder in assets.static_routes(app))
    found = re.findall(r'(?:src|href)="([^"]+)"', page.decode())
    return {html.unescape(url) for url in found if url.startswith(prefixes)}


def test_pages_over_1_kb_are_sent_compressed(crawled):
    for name, response in crawled.items():
        page = decoded(response)
        assert b"</html>" in page, name
        if len(page) > 1024:
            assert response.headers.get("Content-Encoding") == "gzip", name
            assert "Accept-Encoding" in response.headers["Vary"]


def test_pages_come_in_brotli_to_a_browser_that_accepts_it(app, people, client):
    dossier = make_dossier()
    login(client, "sekretaris")
    for url in ("/admin/", "/admin/dossier/", f"/admin/dossier/details/?id={dossier.id}"):
        response = client.get(url, headers=CHROME)
        assert response.headers["Content-Encoding"] == "br", url
        assert b"</html>" in brotli.decompress(response.data)
        assert response.headers["Cache-Control"] == "no-store"  # still: logged-in pages
        assert "nonce-" in response.headers["Content-Security-Policy"]


def test_static_files_are_versioned_by_content_and_cached_for_good(app, crawled, client):
    urls = set().union(*(static_urls(app, decoded(r)) for r in crawled.values()))
    assert any(url.startswith("/static/") for url in urls)
    assert any(url.startswith("/admin/static/") for url in urls)
    for url in urls:
        response = client.get(url, buffered=True)
        assert response.status_code == 200, url
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert directives == {"public", "max-age=31536000", "immutable"}, url
        (version,) = parse_qs(urlsplit(url).query)["v"]
        assert version == hashlib.sha256(response.data).hexdigest()[:16], url
        if url.partition("?")[0].endswith((".css", ".js")):
            for accepted, encoding in ((CHROME, "br"), (GZIP, "gzip")):
                compressed = client.get(url, headers=accepted, buffered=True)
                assert compressed.headers["Content-Encoding"] == encoding, url
                assert decoded(compressed) == response.data


def test_a_changed_file_gets_a_new_url(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    urls = []
    for content in ("body { color: red; }", "body { color: navy; margin: 0; }"):
        (static / "site.css").write_text(content * 100)
        app = Flask("site", static_folder=str(static), instance_path=str(tmp_path / "instance"))
        assets.init_app(app)
        with app.test_request_context():
            urls.append(url_for("static", filename="site.css"))
        served = app.test_client().get(urls[-1], headers=CHROME, buffered=True)
        assert brotli.decompress(served.data).decode() == content * 100
        assert "immutable" in served.headers["Cache-Control"]
    assert urls[0] != urls[1]
    # The previous content's URL, asked of a process serving the new one: not to be kept.
    served = app.test_client().get(urls[0], buffered=True)
    assert served.headers["Cache-Control"] == "no-cache"


def test_each_page_loads_one_bootstrap_and_the_form_scripts_only_with_a_form(app, crawled):
    for name, response in crawled.items():
        page = decoded(response).decode()
        stylesheets = re.findall(r'href="[^"]*/bootstrap(?:\.min)?\.css', page)
        assert len(stylesheets) == 1, name
        page = re.sub(r'<template id="filter-assets">.*?</template>', "", page, flags=re.S)
        scripts = re.findall(r'<script[^>]* src="([^"]+)"', page)
        with_form = "/new/" in name or "/edit/" in name
        for library in FORM_SCRIPTS:
            assert any(library in src for src in scripts) == with_form, (name, library)


def test_a_list_loads_its_filter_scripts_at_once_only_with_a_filter_active(app, people, client):
    make_dossier()
    login(client, "sekretaris")
    waiting = client.get("/admin/dossier/").text
    assert re.search(r'<template id="filter-assets">.*select2.*bs4_filters.*</template>', waiting,
                     re.S)  # fmt: skip
    groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', waiting).group(1))
    equals = groups["Akhir periode"][0]  # the period's end, "equals"
    active = client.get(f"/admin/dossier/?flt0_{equals['arg']}=2030").text
    assert 'id="filter-assets"' not in active
    for library in (*FORM_SCRIPTS, "bs4_filters"):
        assert re.search(rf'<script[^>]* src="[^"]*{library}', active), library


def test_a_csv_export_still_streams(app, people, client):
    make_dossier()
    login(client, "staf")
    response = client.get("/admin/dossier/export/csv/", headers=CHROME, buffered=False)
    # Not buffered to be compressed: no Content-Length (which the whole body would give).
    assert "Content-Encoding" not in response.headers
    assert "Content-Length" not in response.headers
    assert b"IKU" in b"".join(response.iter_encoded())
