"""The agency's letterhead (kop surat) and the officials' rank on the documents: the agency
row and its emblem, edited in the panel, printed by the IKU, the SOP sheet and the SOP
evaluation form."""

from __future__ import annotations

import base64
import json
import re
from io import BytesIO

import pytest
from conftest import csrf_token, fill_iku, login, make_dossier, post
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from iku_admin import documents
from iku_admin.letterhead import EMBLEM_MAX_BYTES, document_agency
from iku_admin.seed import seed
from models import Agency, AuditEntry, Sop, User

URL = "/admin/agency/edit/?id={}"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 12"><path d="M0 0h10v12z"/></svg>'


def image(kind: str, size=(40, 48), mode="RGB") -> bytes:
    out = BytesIO()
    Image.new(mode, size, "#1b5e20").save(out, kind)
    return out.getvalue()


@pytest.fixture
def agency(db) -> Agency:
    return db.session.scalars(select(Agency)).one()


def form(agency: Agency, **changes) -> dict:
    """The edit form as the browser posts it: every field, the version it was opened at."""
    fields = ("government", "name", "address", "phone", "email", "website", "place")
    return {**{f: getattr(agency, f) for f in fields}, "row_version": agency.row_version,
            **changes}  # fmt: skip


def upload(client, agency: Agency, data: bytes, name: str = "lambang.png", **changes):
    """Post the edit form with a file, the body encoded here: the test client would spool
    a large body to a temporary file that it never closes."""
    fields = {**form(agency, **changes), "csrf_token": csrf_token(client)}
    payload = MultiDict([*fields.items(), ("emblem_file", FileStorage(BytesIO(data), name))])
    boundary, body = encode_multipart(payload)
    return client.post(URL.format(agency.id), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")  # fmt: skip


def stored(db, agency: Agency) -> tuple:
    db.session.expire_all()
    row = db.session.get(Agency, agency.id)
    return row.emblem, row.emblem_type, row.row_version


# --- The agency row -------------------------------------------------------------------------


def test_seed_makes_one_agency_from_the_settings_once(app, db, agency):
    assert (agency.government, agency.name, agency.place) == (
        app.config["IKU_GOVERNMENT"],
        app.config["IKU_AGENCY"],
        app.config["IKU_PLACE"],
    )
    seed(db.session)
    assert db.session.scalar(select(func.count()).select_from(Agency)) == 1


def test_documents_use_the_settings_before_the_agency_is_seeded(app, db, agency):
    db.session.delete(agency)
    db.session.commit()
    printed = document_agency(db.session)
    assert printed.id is None and printed.name == app.config["IKU_AGENCY"]


# --- Editing it in the panel ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [(image("PNG", mode="RGBA"), "image/png"), (image("JPEG"), "image/jpeg"),
     (SVG, "image/svg+xml")],
)  # fmt: skip
def test_admin_uploads_the_emblem_and_sets_the_lines(client, db, people, agency, data, kind):
    login(client, "admin")
    response = upload(client, agency, data, name="lambang.bin", address="Jalan A\nKuala Tungkal",
                      phone="(0742) 21234", place="Tungkal Ilir")  # fmt: skip
    assert response.status_code == 302, response.text
    emblem, emblem_type, _version = stored(db, agency)
    assert (emblem, emblem_type) == (data, kind)  # the type comes from the content
    row = db.session.get(Agency, agency.id)
    assert (row.address_lines, row.phone, row.place) == (
        ["Jalan A", "Kuala Tungkal"],
        "(0742) 21234",
        "Tungkal Ilir",
    )
    details = client.get(f"/admin/agency/details/?id={agency.id}").text
    assert f'src="data:{kind};base64,{base64.b64encode(data).decode()}"' in details


def test_saving_without_a_file_keeps_the_emblem_and_remove_drops_it(client, db, people, agency):
    agency.emblem, agency.emblem_type = SVG, "image/svg+xml"
    db.session.commit()
    login(client, "admin")
    url = URL.format(agency.id)
    assert agency.emblem_url in client.get(url).text  # the form shows the emblem it keeps
    assert post(client, url, form(agency, phone="123")).status_code == 302
    assert stored(db, agency)[:2] == (SVG, "image/svg+xml")
    agency = db.session.get(Agency, agency.id)
    assert post(client, url, form(agency, remove_emblem="y")).status_code == 302
    assert stored(db, agency)[:2] == (None, "")


ENGLISH_NOT_IMAGE = "Lambang harus berupa gambar PNG, JPEG, atau SVG."


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.7 not an image", "lambang.png", ENGLISH_NOT_IMAGE),
        (b"MZ\x90\x00 an executable", "lambang.svg", ENGLISH_NOT_IMAGE),
        (b"", "lambang.png", ENGLISH_NOT_IMAGE),
        (image("PNG")[:60], "lambang.png", ENGLISH_NOT_IMAGE),  # cut short
        (image("GIF"), "lambang.gif", ENGLISH_NOT_IMAGE),
        (b"<html><body>no svg</body></html>", "lambang.svg", ENGLISH_NOT_IMAGE),
        (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
         "lambang.svg", ENGLISH_NOT_IMAGE),
        (SVG.replace(b"<path", b"<script>alert(1)</script><path"), "lambang.svg",
         "Lambang SVG tidak boleh berisi skrip."),
        (SVG.replace(b"<path", b'<path onload="alert(1)"'), "lambang.svg",
         "Lambang SVG tidak boleh berisi skrip."),
        (image("PNG") + b"\0" * EMBLEM_MAX_BYTES, "lambang.png",
         "Berkas lambang terlalu besar: paling besar 512 KB."),
        (image("PNG", size=(4001, 10)), "lambang.png",
         "Gambar lambang terlalu besar: paling besar 4000 piksel per sisi."),
    ],
)  # fmt: skip
def test_a_bad_emblem_is_refused_in_indonesian_and_nothing_is_stored(
    client, db, people, agency, data, name, message
):
    before = stored(db, agency)
    entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
    login(client, "admin")
    response = upload(client, agency, data, name=name, phone="(0742) 99999")
    assert response.status_code == 422
    assert message in response.text
    assert stored(db, agency) == before
    assert db.session.get(Agency, agency.id).phone == ""  # the other fields were not saved
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == entries


def test_an_upload_beyond_the_request_limit_is_refused_with_413(app, client, db, people, agency):
    before = stored(db, agency)
    login(client, "admin")
    # The request announces more than the limit; it is refused before its body is read.
    response = client.post(
        URL.format(agency.id), data=b"--x--\r\n", content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(app.config["MAX_CONTENT_LENGTH"] + 1)},
    )  # fmt: skip
    assert response.status_code == 413
    assert "terlalu besar" in response.text
    assert stored(db, agency) == before


def test_only_the_admin_edits_the_agency(client, db, people, agency):
    login(client, "kadis")
    assert client.get(f"/admin/agency/details/?id={agency.id}").status_code == 200
    assert client.get(URL.format(agency.id)).status_code == 403
    response = upload(client, agency, SVG, name="lambang.svg")
    assert response.status_code == 403
    assert stored(db, agency)[0] is None
    assert client.get("/admin/agency/new/").status_code == 403  # one agency, no other yet


# --- The rank of the officials ----------------------------------------------------------------


def test_admin_sets_a_users_rank(client, db, people):
    login(client, "admin")
    kadis = people["kadis"]
    page = client.get(f"/admin/user/edit/?id={kadis.id}").text
    version = re.search(r'name="row_version" type="hidden" value="(\d+)"', page).group(1)
    role = next(iter(kadis.roles))
    response = post(client, f"/admin/user/edit/?id={kadis.id}", {
        "username": "kadis", "full_name": "Kepala Dinas", "rank": "Pembina Utama Muda (IV/c)",
        "roles": role.id, "active": "y", "locale": "id", "row_version": version})  # fmt: skip
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert db.session.get(User, kadis.id).rank == "Pembina Utama Muda (IV/c)"
    assert "Pembina Utama Muda (IV/c)" in client.get("/admin/user/").text


def signature(html: str) -> str:
    return html.split('class="signature"')[1]


def test_the_iku_prints_the_signers_rank_under_the_name(client, db, people):
    from test_documents import finish_steps

    people["kadis"].rank = "Pembina Utama Muda (IV/c)"
    people["kadis"].nip = "198001012005011002"
    db.session.commit()
    dossier = fill_iku(make_dossier())
    login(client, "staf")
    unsigned = signature(client.get(f"/admin/documents/iku/{dossier.id}/").text)
    assert "Pembina" not in unsigned  # printed to be signed: the SOP's head, no rank set
    sop = db.session.scalars(select(Sop)).one()
    sop.ratified_by_rank = "Pembina Tingkat I (IV/b)"
    db.session.commit()
    unsigned = signature(client.get(f"/admin/documents/iku/{dossier.id}/").text)
    assert re.search(r"M\.Si</span><br>\s*<span class=\"rank\">Pembina Tingkat I \(IV/b\)"
                     r"</span><br>\s*NIP\. 19700930", unsigned)  # fmt: skip
    finish_steps(dossier, people, upto=8)  # the head signed at step 7
    signed = signature(client.get(f"/admin/documents/iku/{dossier.id}/").text)
    assert re.search(r"Kepala Dinas</span><br>\s*<span class=\"rank\">Pembina Utama Muda "
                     r"\(IV/c\)</span><br>\s*NIP\. 19800101 200501 1 002", signed)  # fmt: skip


def test_the_sop_sheet_prints_the_ratifiers_rank(client, db, people):
    sop = db.session.scalars(select(Sop)).one()
    sop.ratified_by_rank = "Pembina Utama Muda (IV/c)"
    db.session.commit()
    login(client, "staf")
    html = client.get(f"/admin/documents/sop/{sop.id}/").text
    assert re.search(r"M\.Si</span><br>\s*<span class=\"rank\">Pembina Utama Muda \(IV/c\)"
                     r"</span><br>\s*NIP\. 19700930", html)  # fmt: skip


# --- The letterhead on every document -------------------------------------------------------


@pytest.fixture
def lettered(db, agency) -> Agency:
    agency.government, agency.name = "Pemerintah Kabupaten Contoh", "Dinas <Uji> & Coba"
    agency.address, agency.phone = "Jalan Merdeka 1\nKota Contoh 12345", "(0741) 123"
    agency.email, agency.website, agency.place = "dinas@contoh.go.id", "contoh.go.id", "Kota Contoh"
    agency.emblem, agency.emblem_type = SVG, "image/svg+xml"
    db.session.commit()
    return agency


def kop(html: str) -> str:
    found = re.findall(r'<header class="kop">.*?</header>', html, re.S)
    assert len(found) == 1, "one letterhead per document"
    return found[0]


def assert_letterhead(html: str) -> None:
    head = kop(html)
    emblem = base64.b64encode(SVG).decode()
    assert f'<img src="data:image/svg+xml;base64,{emblem}" alt="Lambang daerah">' in head
    assert "PEMERINTAH KABUPATEN CONTOH" in head
    assert "DINAS &lt;UJI&gt; &amp; COBA" in head  # escaped
    assert "Jalan Merdeka 1</p>" in head and "Kota Contoh 12345</p>" in head
    assert "Telepon (0741) 123 – Email: dinas@contoh.go.id – Laman: contoh.go.id" in head
    assert 'class="kop-rule"' in head
    # The emblem is on the left of the centred lines.
    assert head.index("<img") < head.index("kop-government")


def test_the_iku_and_the_sop_sheet_print_the_letterhead(client, db, people, lettered):
    dossier = fill_iku(make_dossier())
    login(client, "kadis")
    iku = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert_letterhead(iku)
    assert "Kota Contoh, " in signature(iku)  # the place of signing
    sop = db.session.scalars(select(Sop)).one()
    sop.government = sop.agency = ""  # the sheet's own header falls back to the agency's
    db.session.commit()
    sheet = client.get(f"/admin/documents/sop/{sop.id}/").text
    assert_letterhead(sheet)
    assert "DINAS &lt;UJI&gt; &amp; COBA" in sheet.split('class="agency"')[1]


def test_the_evaluation_form_prints_the_letterhead_and_the_assessors_rank(
    client, db, people, lettered
):
    people["sekretaris"].rank = "Pembina Tingkat I (IV/b)"
    people["sekretaris"].nip = "197204151998032004"
    db.session.commit()
    login(client, "sekretaris")
    url = "/admin/dashboard/evaluation/?year=2026&semester=1"
    page = client.get(url).text  # prefilled with the signed-in official
    assert 'value="Pembina Tingkat I (IV/b)"' in page and 'value="197204151998032004"' in page
    data = {
        "assessor": "Sekretaris",
        "assessor_rank": "Pembina Tingkat I (IV/b)",
        "assessor_nip": "197204151998032004",
        "assessed_on": "2026-07-15",
        "html": "1",
    }
    for index, step in enumerate(db.session.scalars(select(Sop)).one().steps):
        data[f"steps-{index}-position"] = str(step.position)
    response = post(client, url, data)
    assert response.status_code == 200
    assert_letterhead(response.text)
    sign = response.text.split('class="signature"')[1]
    assert "Kota Contoh, 15 Juli 2026" in sign
    assert re.search(r"<strong>Sekretaris</strong></div>\s*<div>Pembina Tingkat I \(IV/b\)</div>"
                     r"\s*<div>NIP 19720415 199803 2 004</div>", sign)  # fmt: skip


def test_the_pdfs_carry_the_emblem(app, db, people, lettered):
    from test_documents import inflated

    lettered.emblem, lettered.emblem_type = image("PNG", size=(37, 43)), "image/png"
    db.session.commit()
    dossier = fill_iku(make_dossier())
    for pdf in (documents.iku_pdf(dossier), documents.sop_pdf(dossier.sop)):
        body = inflated(pdf)
        assert re.search(rb"/Subtype\s*/Image\b[^>]*?/Width\s+37\b", body), "emblem missing"


def test_the_agency_change_is_in_the_audit_log_under_the_admin(client, db, people, agency):
    login(client, "admin")
    assert upload(client, agency, SVG, name="lambang.svg").status_code == 302
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.table_name == "agency").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.username == "admin" and entry.action == "update"
    assert json.loads(entry.changes)["emblem"]["new"]["bytes"] == len(SVG)
