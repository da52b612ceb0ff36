"""The official documents: the IKU (HTML, PDF, XLSX) and the SOP sheet with its chart."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import zlib
from decimal import Decimal
from io import BytesIO
from xml.etree import ElementTree
from zipfile import ZipFile

import openpyxl
import pytest
from conftest import fill_iku, login, make_dossier
from flask import render_template_string
from sqlalchemy import select, update

from iku_admin import documents, workflow
from iku_admin.seed import SOP_HEADER, SOP_STEPS
from models import Indicator, IndicatorTarget, Role, Sop, StrategicObjective
from models.validation import format_nip

SVG = "{http://www.w3.org/2000/svg}"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def sop(db) -> Sop:
    return db.session.scalars(select(Sop)).one()


def role(db, code: str) -> Role:
    return db.session.scalars(select(Role).where(Role.code == code)).one()


def chart(html: str) -> ElementTree.Element:
    """The one SVG of a page, parsed as XML (fails if it is not well-formed)."""
    found = re.findall(r"<svg\b.*?</svg>", str(html), re.S)
    assert len(found) == 1
    return ElementTree.fromstring(found[0])


def symbols(svg: ElementTree.Element) -> dict[int, ElementTree.Element]:
    return {int(e.get("data-step")): e for e in svg.iter() if "symbol" in e.get("class", "")}


def centre_x(symbol: ElementTree.Element) -> float:
    if symbol.tag == f"{SVG}rect":
        return float(symbol.get("x")) + float(symbol.get("width")) / 2
    xs = [float(p.split(",")[0]) for p in symbol.get("points").split()]
    return (min(xs) + max(xs)) / 2


def lane_of(svg: ElementTree.Element, x: float) -> str:
    """The actor whose lane (column) holds the x position."""
    for lane in svg.iter(f"{SVG}rect"):
        if lane.get("data-actor"):
            left = float(lane.get("x"))
            if left < x < left + float(lane.get("width")):
                return lane.get("data-actor")
    raise AssertionError(f"x={x} is in no actor lane")


def cell_text(svg: ElementTree.Element, step: int, field: str) -> str:
    """A table cell's text, its wrapped lines joined again."""
    for text in svg.iter(f"{SVG}text"):
        if text.get("data-step") == str(step) and field in text.get("class", "").split():
            return " ".join(span.text for span in text)
    raise AssertionError(f"no {field} cell for step {step}")


def inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams included) inflated."""
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(stream))
    return b"\n".join(parts)


def pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) of every page of a PDF."""
    assert pdf.startswith(b"%PDF-")
    body = inflated(pdf)
    count = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", body))
    boxes = re.findall(rb"/MediaBox\s*\[\s*[-\d.]+\s+[-\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", body)
    assert count >= 1 and len(boxes) >= count
    return [(float(w), float(h)) for w, h in boxes[:count]]


def finish_steps(dossier, people, upto: int) -> None:
    """Walk a dossier through the SOP until step ``upto`` is the current one."""
    actor = {"kepala_dinas": "kadis", "sekretaris": "sekretaris", "perencana": "perencana",
             "tim_sakip": "timsakip", "staf": "staf"}  # fmt: skip
    while dossier.current_step.position < upto:
        step = dossier.current_step
        user = people[actor[step.role.code]]
        if step.kind == "review":
            workflow.approve(dossier, user)
        else:
            workflow.complete(dossier, user)


# --- The SOP sheet ----------------------------------------------------------------------------


def test_sop_sheet_shows_every_header_field_and_step(client, people, sop):
    login(client, "staf")
    response = client.get(f"/admin/documents/sop/{sop.id}/")
    assert response.status_code == 200
    html = response.text
    for field, value in SOP_HEADER.items():
        if field in ("version", "ratified_by_nip") or not value:
            continue
        assert value in html or value.upper() in html, field  # the agency is in capitals
    assert "NIP. 19700930 199703 1 003" in html
    for heading in ("Nomor SOP", "Tgl Pembuatan", "Tgl Revisi", "Tgl Pengesahan",
                    "Disahkan Oleh", "Nama SOP", "Dasar Hukum", "Kualifikasi Pelaksana",
                    "Keterkaitan", "Peralatan/Perlengkapan", "Peringatan",
                    "Pencatatan dan Pendataan"):  # fmt: skip
        assert heading in html
    svg = chart(html)
    assert len(symbols(svg)) == 9
    for row in SOP_STEPS:
        position, activity, _role, given, output, value, unit, *_rest, notes, _need, _label = row
        assert cell_text(svg, position, "activity") == activity
        assert cell_text(svg, position, "input") == given
        assert cell_text(svg, position, "time_label") == f"{value} {unit}"
        assert cell_text(svg, position, "output") == output
        if notes:
            assert cell_text(svg, position, "notes") == notes
    for heading in ("Pelaksana", "Mutu Baku", "Kelengkapan", "Waktu", "Output", "Keterangan"):
        assert heading in html
    # No script and nothing fetched from elsewhere: the page works under the CSP.
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_chart_shapes_lanes_and_arrows(app, sop):
    svg = chart(documents.sop_chart_svg(sop))
    shapes = symbols(svg)
    assert [shapes[n].get("class") for n in range(1, 10)] == [
        "symbol capsule", "symbol task", "symbol task", "symbol task", "symbol review",
        "symbol task", "symbol task", "symbol task", "symbol capsule",
    ]  # fmt: skip
    assert shapes[5].tag == f"{SVG}polygon" and len(shapes[5].get("points").split()) == 4
    assert float(shapes[1].get("rx")) > 0 and float(shapes[9].get("rx")) > 0
    assert float(shapes[2].get("rx")) == 0
    lanes = [e.get("data-actor") for e in svg.iter() if e.get("data-actor")]
    assert lanes == ["kepala_dinas", "sekretaris", "perencana", "tim_sakip", "staf"]
    for step in sop.steps:
        assert lane_of(svg, centre_x(shapes[step.position])) == step.role.code
    arrows = {(a.get("data-from"), a.get("data-to"), a.get("class")) for a in svg.iter(f"{SVG}g")}
    assert {(str(n), str(n + 1), "arrow") for n in range(1, 9)} < arrows
    assert ("5", "4", "arrow return") in arrows
    labels = {t.get("class"): "".join(t.itertext()) for t in svg.iter(f"{SVG}text")}
    assert labels["yes"] == "Ya" and labels["no"] == "Tidak"


def test_changing_a_steps_role_moves_its_symbol(app, db, sop):
    step = sop.steps[2]  # Menyusun konsep: Tim SAKIP
    before = centre_x(symbols(chart(documents.sop_chart_svg(sop)))[3])
    step.role = role(db, "perencana")
    db.session.commit()
    svg = chart(documents.sop_chart_svg(sop))
    after = centre_x(symbols(svg)[3])
    assert after != before
    assert lane_of(svg, after) == "perencana"
    # Tim SAKIP no longer acts in this SOP, so its lane is gone.
    assert "tim_sakip" not in {e.get("data-actor") for e in svg.iter()}


def test_chart_marks_the_steps_done_and_the_current_one(app, people, sop):
    dossier = fill_iku(make_dossier())
    finish_steps(dossier, people, upto=4)
    states = {n: e.get("data-state") for n, e in symbols(chart(
        documents.sop_chart_svg(sop, dossier))).items()}  # fmt: skip
    assert states == {1: "done", 2: "done", 3: "done", 4: "current", 5: "todo", 6: "todo",
                      7: "todo", 8: "todo", 9: "todo"}  # fmt: skip
    fills = {e.get("data-state"): e.get("fill") for e in symbols(
        chart(documents.sop_chart_svg(sop, dossier))).values()}  # fmt: skip
    assert len(set(fills.values())) == 3
    assert {e.get("data-state") for e in symbols(chart(documents.sop_chart_svg(sop))).values()} == {
        "todo"
    }


def test_text_is_escaped_in_the_chart(app, db, sop):
    sop.steps[0].activity = XSS
    sop.steps[1].output = 'a & b "quoted"'
    db.session.commit()
    markup = str(documents.sop_chart_svg(sop))
    assert XSS not in markup and "&lt;img" in markup
    svg = chart(markup)
    assert cell_text(svg, 1, "activity") == XSS
    assert cell_text(svg, 2, "output") == 'a & b "quoted"'


def test_sop_pdf_is_a_real_pdf(client, people, sop):
    login(client, "kadis")
    response = client.get(f"/admin/documents/sop/{sop.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    sizes = pages(response.data)
    assert len(sizes) == 2  # identity header, then the procedure chart
    assert all(width > height for width, height in sizes)


# --- The IKU document -------------------------------------------------------------------------


def test_iku_html_is_the_official_table(client, people, db):
    dossier = fill_iku(make_dossier(), indicators=2)
    other = StrategicObjective(dossier=dossier, name="Meningkatnya kualitas layanan", order=2)
    db.session.add(other)
    db.session.commit()
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert "PEMERINTAH KABUPATEN TANJUNG JABUNG BARAT" in html
    assert "DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU" in html
    assert "INDIKATOR KINERJA UTAMA" in html and "2026–2030" in html
    headers = re.findall(r"<th[^>]*>(.*?)</th>", html)
    assert headers[:11] == ["No", "Sasaran Strategis", "Indikator Kinerja Utama",
                            "Penjelasan/Formulasi", "Satuan", "Target", "Sumber Data",
                            "Penanggung Jawab", "2026", "2027", "2028"]  # fmt: skip
    # The objective spans its two indicators' rows.
    assert '<td rowspan="2">Meningkatnya investasi</td>' in html
    assert "Nilai investasi 1" in html and "Nilai investasi 2" in html
    assert ">906<" in html  # targets, Indonesian number format
    assert re.search(
        r'<td rowspan="1">Meningkatnya kualitas layanan</td>\s*<td colspan="10">', html
    )
    # Printing: the header row repeats on each page; pages are numbered.
    assert "thead { display: table-header-group; }" in html
    assert 'content: "Halaman " counter(page) " dari " counter(pages)' in html
    assert "<script" not in html


def test_iku_signature_and_initials_follow_the_sop(client, people, db, sop):
    dossier = fill_iku(make_dossier())
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    today = documents.doc_date(documents.local_today())
    assert f"Kuala Tungkal, {today}" in html
    assert SOP_HEADER["ratified_by_title"] in html
    assert "H. YAN ERY, S.Pt, M.Si" in html and "NIP. 19700930 199703 1 003" in html
    paraf = html.split('class="paraf"')[1].split("</table>")[0]
    assert "Sekretaris" in paraf and "Perencana" in paraf and "Staf" not in paraf
    # Who initials comes from the SOP data: after the review, the Tim SAKIP initials.
    sop.steps[5].role = role(db, "tim_sakip")
    db.session.commit()
    paraf = client.get(f"/admin/documents/iku/{dossier.id}/").text.split('class="paraf"')[1]
    assert "Tim SAKIP" in paraf.split("</table>")[0] and "Perencana" not in paraf


def test_iku_is_signed_by_who_signed_it(client, people, db):
    people["kadis"].full_name = "Dr. Kepala Baru, M.Si"
    people["kadis"].nip = "198001012005011002"
    db.session.commit()
    dossier = fill_iku(make_dossier())
    finish_steps(dossier, people, upto=8)
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert "Dr. Kepala Baru, M.Si" in html and "YAN ERY" not in html
    assert f"NIP. {format_nip('198001012005011002')}" in html


def test_a_signed_iku_keeps_the_names_of_when_it_was_signed(client, people, db):
    dossier = fill_iku(make_dossier())
    finish_steps(dossier, people, upto=9)
    signed = people["kadis"].full_name
    people["kadis"].full_name, people["kadis"].rank = "Pejabat Pengganti", "Pembina (IV/a)"
    people["kadis"].nip = "198001012005011002"
    db.session.commit()
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert signed in html and "Pejabat Pengganti" not in html and "Pembina (IV/a)" not in html
    assert format_nip("198001012005011002") not in html


def test_a_signed_iku_keeps_the_paraf_table_of_when_it_was_initialled(client, people, db):
    dossier = fill_iku(make_dossier())
    finish_steps(dossier, people, upto=9)
    role = people["perencana"].roles[0]
    before, role.name = role.name, "Analis Kebijakan"
    db.session.commit()
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert before in html and "Analis Kebijakan" not in html
    waiting = fill_iku(make_dossier("IKU belum diparaf"))
    html = client.get(f"/admin/documents/iku/{waiting.id}/").text
    assert "Analis Kebijakan" in html  # not initialled yet: the role as named now


def test_iku_pdf_is_landscape_and_numbered(client, people):
    dossier = fill_iku(make_dossier(), indicators=40)
    login(client, "perencana")
    response = client.get(f"/admin/documents/iku/{dossier.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    sizes = pages(response.data)
    assert len(sizes) > 1  # 40 indicators do not fit one page
    assert all(width > height for width, height in sizes)  # A4 landscape


def test_iku_xlsx_has_the_columns_merged_objectives_and_numbers(client, people, db):
    dossier = fill_iku(make_dossier(), indicators=2)
    indicator = dossier.objectives[0].indicators[0]
    indicator.targets[0].target = Decimal("12.5")
    indicator.data_source = "=HYPERLINK(1)"
    db.session.commit()
    login(client, "timsakip")
    response = client.get(f"/admin/documents/iku/{dossier.id}.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][0] == "INDIKATOR KINERJA UTAMA"
    assert rows[5] == ("No", "Sasaran Strategis", "Indikator Kinerja Utama",
                       "Penjelasan/Formulasi", "Satuan", "Target", None, None, None, None,
                       "Sumber Data", "Penanggung Jawab")  # fmt: skip
    assert rows[6][5:10] == (2026, 2027, 2028, 2029, 2030)
    assert rows[7][:3] == (1, "Meningkatnya investasi", "Nilai investasi 1")
    assert rows[7][5:10] == (12.5, 907, 908, 909, 900)
    assert all(isinstance(v, int | float) for v in rows[8][5:10])
    assert "B8:B9" in {str(r) for r in sheet.merged_cells.ranges}
    assert rows[7][10] == "=HYPERLINK(1)"  # kept as text, never run as a formula
    with ZipFile(BytesIO(response.data)) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()


def test_iku_escapes_text(client, people, db):
    dossier = make_dossier()
    objective = StrategicObjective(dossier=dossier, name=XSS, order=1)
    objective.indicators.append(
        Indicator(name=XSS, unit="Persen", order=1,
                  targets=[IndicatorTarget(year=2026, target=Decimal(1))])
    )  # fmt: skip
    db.session.add(objective)
    db.session.commit()
    login(client, "staf")
    html = client.get(f"/admin/documents/iku/{dossier.id}/").text
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- Access ----------------------------------------------------------------------------------


def test_documents_need_a_login(client, app, sop):
    dossier = make_dossier()
    iku, sheet = f"/admin/documents/iku/{dossier.id}", f"/admin/documents/sop/{sop.id}"
    for url in ("/admin/documents/", f"{iku}/", f"{iku}.pdf", f"{iku}.xlsx", f"{sheet}/",
                f"{sheet}.pdf"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_unknown_records_give_404(client, people):
    login(client, "staf")
    for url in ("/admin/documents/iku/999/", "/admin/documents/iku/999.pdf",
                "/admin/documents/iku/999.xlsx", "/admin/documents/sop/999/",
                "/admin/documents/sop/999.pdf"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_index_lists_sops_and_dossiers_for_every_role(app, people, sop):
    dossier = make_dossier(title="IKU Uji 2026–2030")
    for username in people:
        client = app.test_client()
        login(client, username)
        html = client.get("/admin/documents/").text
        assert f"/admin/documents/sop/{sop.id}/" in html, username
        assert f"/admin/documents/iku/{dossier.id}.pdf" in html, username
        assert "IKU Uji 2026–2030" in html


def test_the_chart_is_available_to_other_pages(app, people, sop):
    dossier = make_dossier()
    html = render_template_string(
        "<div>{{ sop_chart_svg(dossier.sop, dossier) }}</div>", dossier=dossier
    )
    states = {n: e.get("data-state") for n, e in symbols(chart(html)).items()}
    assert states[1] == "current" and states[2] == "todo"


def test_pdf_rendering_fetches_nothing(app, caplog):
    html = '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><img src="file:///etc/hostname">'
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        assert documents.render_pdf(html).startswith(b"%PDF-")
    refused = [r.getMessage() for r in caplog.records if "disallowed protocol" in r.getMessage()]
    assert len(refused) == 2


# --- what a document may hold -----------------------------------------------------------------


def test_an_iku_of_1000_long_indicators_is_refused_quickly(client, people, db):
    """The most an import accepts: the PDF and the page are refused within 10 s, with advice;
    the XLSX holds it."""
    dossier = fill_iku(make_dossier(), indicators=1000)
    db.session.execute(update(Indicator).values(definition="Rumus perhitungan capaian " * 80))
    db.session.commit()
    login(client, "kadis")
    for url in (f"/admin/documents/iku/{dossier.id}.pdf", f"/admin/documents/iku/{dossier.id}/"):
        started = time.perf_counter()
        response = client.get(url)
        assert time.perf_counter() - started < 10, url
        assert response.status_code == 422, url
        assert "XLSX" in response.text and "1000" in response.text
    xlsx = client.get(f"/admin/documents/iku/{dossier.id}.xlsx")
    assert xlsx.status_code == 200
    assert openpyxl.load_workbook(BytesIO(xlsx.data))["IKU"].max_row == 7 + 1000


@pytest.mark.parametrize(
    ("limits", "pdf", "page"),
    [
        (documents.DocumentLimits(rows=2, chars=10**6), 422, 200),
        (documents.DocumentLimits(rows=100, chars=200), 422, 200),
        (documents.DocumentLimits(rows=3, chars=10**6), 200, 200),
    ],
)
def test_iku_limits(client, people, monkeypatch, limits, pdf, page):
    dossier = fill_iku(make_dossier(), indicators=3)
    monkeypatch.setattr(documents, "PDF_LIMITS", limits)
    login(client, "staf")
    assert client.get(f"/admin/documents/iku/{dossier.id}.pdf").status_code == pdf
    assert client.get(f"/admin/documents/iku/{dossier.id}/").status_code == page
    monkeypatch.setattr(documents, "HTML_LIMITS", limits)
    assert client.get(f"/admin/documents/iku/{dossier.id}/").status_code == pdf


@pytest.mark.parametrize("limit", ["rows", "chars"])
def test_sop_limits(client, people, db, sop, monkeypatch, limit):
    steps = len(sop.steps)
    limits = documents.DocumentLimits(rows=steps - 1 if limit == "rows" else steps, chars=10**6)
    if limit == "chars":
        sop.legal_basis = "Peraturan " * 100_000
        db.session.commit()
    monkeypatch.setattr(documents, "PDF_LIMITS", limits)
    login(client, "admin")
    response = client.get(f"/admin/documents/sop/{sop.id}.pdf")
    assert response.status_code == 422
    assert "too large" in response.text or "terlalu besar" in response.text
    assert client.get(f"/admin/documents/sop/{sop.id}/").status_code == (
        422 if limit == "chars" else 200
    )
