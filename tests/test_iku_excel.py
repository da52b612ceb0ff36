"""Excel in: the IKU template, and importing a filled one into a dossier (all or nothing)."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile
from decimal import Decimal

import pytest
from conftest import login, make_dossier, post
from openpyxl import load_workbook
from openpyxl.xml.constants import SHARED_STRINGS
from sqlalchemy import func, select, update

from iku_admin import iku_excel, spreadsheet, workbook_limits, workflow
from iku_admin.iku_excel import ImportRefused, parse_number, parse_rows, template_headers
from iku_admin.workbook_limits import Limits
from models import Dossier, Indicator, IndicatorTarget, StrategicObjective
from models.validation import INDICATOR_UNITS

pytestmark = pytest.mark.usefixtures("english")  # wording checked against the msgids

YEARS = list(range(2026, 2031))


def row(n: int, objective: str = "Meningkatnya investasi", **changes) -> dict:
    """A valid template row, by header; ``changes`` override cells (by header)."""
    cells = {
        "Sasaran Strategis": objective,
        "Indikator Kinerja Utama": f"Nilai investasi {n}",
        "Penjelasan/Formulasi": "Jumlah realisasi PMA dan PMDN",
        "Satuan": "Miliar Rupiah",
        "Polaritas (max/min)": "max",
        "Baseline": 850,
        "Sumber Data": "LKPM",
        "Penanggung Jawab": "Kepala Bidang Promosi",
        **{f"Target {year}": 900 + year % 10 for year in YEARS},
    }
    cells.update({k.replace("_", " "): v for k, v in changes.items()})
    return cells


def workbook(dossier: Dossier, rows: list[dict | None], extra_headers: list[str] = ()) -> bytes:
    """The dossier's own template, filled with ``rows`` from row 2 on (None: an empty row)."""
    book = load_workbook(io.BytesIO(iku_excel.template_workbook(dossier)))
    sheet = book["IKU"]
    headers = [c.value for c in sheet[1]] + list(extra_headers)
    for index, header in enumerate(extra_headers, start=sheet.max_column + 1):
        sheet.cell(row=1, column=index, value=header)
    for number, cells in enumerate(rows, start=2):
        for index, header in enumerate(headers, start=1):
            value = (cells or {}).get(header)
            if value is not None:
                sheet.cell(row=number, column=index, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, dossier: Dossier, data: bytes, filename: str = "iku.xlsx"):
    return post(
        client,
        f"/admin/iku_excel/import/{dossier.id}/",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def state(db) -> tuple:
    """Everything an import could change."""
    counts = [
        db.session.scalar(select(func.count()).select_from(model))
        for model in (StrategicObjective, Indicator, IndicatorTarget)
    ]
    versions = db.session.execute(select(Dossier.id, Dossier.version)).all()
    return (*counts, sorted(versions))


def problem_rows(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'<tr data-row="(\d+)">', html)}


def rows_of(dossier: Dossier, rows: list[dict | None], extra_headers: list[str] = ()):
    sheet = load_workbook(io.BytesIO(workbook(dossier, rows, extra_headers)))["IKU"]
    return [tuple(c.value for c in r) for r in sheet.iter_rows()]


@pytest.fixture
def dossier(db):
    return make_dossier()


# --- the template ---------------------------------------------------------------------------


def test_template_download(client, people, dossier):
    login(client, "kadis")  # reading is enough to download it
    response = client.get(f"/admin/iku_excel/template/{dossier.id}/")
    assert response.status_code == 200
    assert response.mimetype == spreadsheet.XLSX_MIMETYPE
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["IKU", "Satuan", "Petunjuk"]
    sheet = book["IKU"]
    assert [c.value for c in sheet[1]] == [
        "Sasaran Strategis", "Indikator Kinerja Utama", "Penjelasan/Formulasi", "Satuan",
        "Polaritas (max/min)", "Baseline", "Target 2026", "Target 2027", "Target 2028",
        "Target 2029", "Target 2030", "Sumber Data", "Penanggung Jawab",
    ]  # fmt: skip
    assert sheet.max_row == 1  # no example row to trip over: instructions are on their own sheet
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert [r[0] for r in book["Satuan"].iter_rows(min_row=2, values_only=True)] == sorted(
        INDICATOR_UNITS
    )
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["D2:D1001"] == f"'Satuan'!$A$2:$A${len(INDICATOR_UNITS) + 1}"
    assert lists["E2:E1001"] == '"max,min"'


def test_template_text_columns_are_text_formatted(client, people, dossier):
    login(client, "kadis")
    book = load_workbook(io.BytesIO(client.get(f"/admin/iku_excel/template/{dossier.id}/").data))
    sheet = book["IKU"]
    formats = {
        cell.value: sheet.column_dimensions[cell.column_letter].number_format for cell in sheet[1]
    }
    assert {h for h, f in formats.items() if f == "@"} == set(iku_excel.COLUMNS)
    assert {f for h, f in formats.items() if h.startswith("Target")} == {"General"}


def test_a_baseline_typed_as_text_keeps_its_leading_zero(dossier):
    # What a spreadsheet stores when "050" is typed into a text-formatted cell.
    rows = rows_of(dossier, [row(1, Baseline="050", Sumber_Data="0123")])
    [parsed] = parse_rows(dossier, rows)
    assert (parsed.fields["baseline"], parsed.fields["data_source"]) == ("050", "0123")


def test_template_follows_the_period(db):
    assert template_headers(make_dossier(period=(2025, 2026)))[6:8] == [
        "Target 2025",
        "Target 2026",
    ]


# --- importing ------------------------------------------------------------------------------


def test_import_200_indicators(db, client, people, dossier):
    rows = [row(n, objective=f"Sasaran {n % 10 + 1}") for n in range(1, 201)]
    login(client, "timsakip")
    response = upload(client, dossier, workbook(dossier, rows))
    assert response.status_code == 303, response.text
    assert response.location.endswith(f"/admin/dossier/details/?id={dossier.id}")
    assert state(db)[:3] == (10, 200, 1000)
    objectives = db.session.scalars(
        select(StrategicObjective).order_by(StrategicObjective.order)
    ).all()
    # Grouped by name, in the order each objective first appears.
    assert [o.name for o in objectives] == [f"Sasaran {n % 10 + 1}" for n in range(1, 11)]
    first = objectives[0].indicators
    assert [i.name for i in first] == [f"Nilai investasi {n}" for n in range(1, 201, 10)]
    assert [i.order for i in first] == list(range(1, 21))
    indicator = first[0]
    assert (indicator.unit, indicator.polarity, indicator.baseline) == (
        "Miliar Rupiah",
        "max",
        "850",
    )
    assert {t.year: t.target for t in indicator.targets} == {
        y: Decimal(900 + y % 10) for y in YEARS
    }
    # The imported content satisfies what step 3 needs.
    assert workflow.missing_inputs(dossier, dossier.sop.steps[2]) == []


def test_import_appends_after_existing_objectives(db, dossier):
    old = StrategicObjective(dossier_id=dossier.id, name="Lama", order=1)
    old.indicators.append(Indicator(name="Indikator lama", unit="Persen", order=4))
    db.session.add(old)
    db.session.commit()
    rows = [row(1, objective="Baru"), None, row(2, objective="lama"), row(3, objective="Baru")]
    result = iku_excel.import_workbook(db.session, dossier, "iku.xlsx", workbook(dossier, rows))
    assert (result.objectives, result.indicators, result.targets) == (1, 3, 15)
    objectives = db.session.scalars(
        select(StrategicObjective).order_by(StrategicObjective.order)
    ).all()
    assert [(o.name, o.order) for o in objectives] == [("Lama", 1), ("Baru", 2)]
    assert [(i.name, i.order) for i in objectives[0].indicators] == [
        ("Indikator lama", 4), ("Nilai investasi 2", 5),
    ]  # fmt: skip
    assert [i.name for i in objectives[1].indicators] == ["Nilai investasi 1", "Nilai investasi 3"]


def test_three_bad_rows_are_reported_and_nothing_is_imported(db, client, people, dossier):
    rows = [row(n) for n in range(1, 21)]
    rows[2] = row(3, Satuan="Kilogram")  # sheet row 4
    rows[7] = row(8, **{"Target 2028": "banyak"})  # sheet row 9
    rows[13] = row(14, Indikator_Kinerja_Utama=None)  # sheet row 15
    rows.insert(16, None)  # an empty row is skipped, and the numbering stays the sheet's
    before = state(db)
    login(client, "timsakip")
    response = upload(client, dossier, workbook(dossier, rows))
    assert response.status_code == 400
    assert problem_rows(response.text) == {4, 9, 15}
    assert "Kilogram" in response.text
    assert "Target 2028" in response.text
    assert state(db) == before


# Each rule: the changed cells, the column the problem is reported in, a word of the message.
RULES = {
    "missing objective": ({"Sasaran Strategis": " "}, "Sasaran Strategis", "required"),
    "missing unit": ({"Satuan": None}, "Satuan", "required"),
    "unknown unit": ({"Satuan": "Ton"}, "Satuan", "unknown unit"),
    "polarity": ({"Polaritas (max/min)": "naik"}, "Polaritas (max/min)", "max or min"),
    "text target": ({"Target 2027": "sepuluh"}, "Target 2027", "not a number"),
    "ambiguous target": ({"Target 2027": "2.500"}, "Target 2027", "ambiguous"),
    "English decimal": ({"Target 2027": "2.5"}, "Target 2027", "not a number"),
    "three decimals": ({"Target 2027": 1.125}, "Target 2027", "two decimals"),
    "too large": ({"Target 2027": 1e17}, "Target 2027", "too large"),
    "boolean target": ({"Target 2027": True}, "Target 2027", "must be a number"),
    "long name": ({"Indikator Kinerja Utama": "x" * 501}, "Indikator Kinerja Utama", "501"),
    "long objective": ({"Sasaran Strategis": "x" * 501}, "Sasaran Strategis", "at most 500"),
    "long baseline": ({"Baseline": "x" * 101}, "Baseline", "at most 100"),
    "long source": ({"Sumber Data": "x" * 301}, "Sumber Data", "at most 300"),
    "year outside period": ({"Target 2031": 5}, "Target 2031", "outside"),
    "column without header": ({"Q": 5}, "N", "without a header"),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_names_row_and_column(dossier, rule):
    changes, column, words = RULES[rule]
    extra = ["Target 2031"] if "Target 2031" in changes else []
    rows = [row(1), row(2, **{k.replace(" ", "_"): v for k, v in changes.items()})]
    cells = rows_of(dossier, rows, extra)
    if "Q" in changes:  # a value right of the last header
        cells[2] = (*cells[2], 5)
    with pytest.raises(ImportRefused) as refused:
        parse_rows(dossier, cells)
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert words in problem.message
    assert str(problem).startswith(f'Row 3, column "{column}": ')


def test_an_empty_outside_year_column_is_harmless(dossier):
    assert len(parse_rows(dossier, rows_of(dossier, [row(1)], ["Target 2031"]))) == 1


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (["Sasaran Strategis", "Indikator Kinerja Utama", "Polaritas (max/min)"], "Satuan"),
        ([*iku_excel.BEFORE_TARGETS, "Catatan"], "Catatan"),
        ([*iku_excel.BEFORE_TARGETS, "target 2027", "Target  2027"], "Target 2027"),
    ],
)
def test_header_problems_stop_at_row_1(dossier, headers, problem):
    with pytest.raises(ImportRefused) as refused:
        parse_rows(dossier, [tuple(headers), ("a",) * len(headers)])
    assert [(p.row, p.column) for p in refused.value.problems] == [(1, problem)]


def test_repeated_indicators_are_refused(dossier):
    rows = rows_of(dossier, [row(1), row(2), row(1, Sasaran_Strategis="MENINGKATNYA INVESTASI")])
    with pytest.raises(ImportRefused) as refused:
        parse_rows(dossier, rows, existing=[("Meningkatnya investasi", "Nilai investasi 2")])
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (3, "Indikator Kinerja Utama"), (4, "Indikator Kinerja Utama"),
    ]  # fmt: skip
    assert "already exists" in refused.value.problems[0].message
    assert "row 2" in refused.value.problems[1].message


def test_a_sheet_without_rows_is_refused(dossier):
    with pytest.raises(ImportRefused, match="no indicator rows"):
        parse_rows(dossier, rows_of(dossier, [None, None]))


@pytest.mark.parametrize(
    ("text", "number"),
    [("1.234,5", "1234.5"), ("1234,5", "1234.5"), ("1.234.567", "1234567"), ("-12,25", "-12.25"),
     ("  1234 ", "1234"), ("0,5", "0.5"), ("1.234.567,89", "1234567.89")],
)  # fmt: skip
def test_indonesian_number_text(app, text, number):
    assert parse_number(text) == Decimal(number)


@pytest.mark.parametrize(
    "text", ["2.500", "2,500", "-1.000", "1.5", "1,234.5", "10%", "1 234", "٣"]
)
def test_ambiguous_or_foreign_number_text_is_refused(app, text):
    with pytest.raises(ValueError, match=r"ambiguous|not a number"):
        parse_number(text)


def test_number_cells_are_taken_as_numbers(dossier):
    rows = rows_of(dossier, [row(1, Target_2026=0.1 + 0.2, Target_2027="12,5", Target_2028=None)])
    [parsed] = parse_rows(dossier, rows)
    assert parsed.targets == {2026: Decimal("0.30"), 2027: Decimal("12.50"), 2029: 909, 2030: 900}


# --- refusals -------------------------------------------------------------------------------


def walk_past_review(db, people, dossier) -> None:
    """Steps 1–5 through the workflow: after approval at step 5 the IKU is locked."""
    iku_excel.import_workbook(db.session, dossier, "iku.xlsx", workbook(dossier, [row(1)]))
    for user, act in [("kadis", workflow.complete), ("sekretaris", workflow.complete),
                      ("timsakip", workflow.complete), ("staf", workflow.complete),
                      ("sekretaris", workflow.approve)]:  # fmt: skip
        act(db.session.get(Dossier, dossier.id), people[user])
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).current_step.position == 6


@pytest.mark.parametrize("how", ["past review", "done"])
def test_a_locked_dossier_refuses_the_import(db, client, people, dossier, how):
    if how == "done":
        dossier.status = "done"
        db.session.commit()
    else:
        walk_past_review(db, people, dossier)
    before = state(db)
    login(client, "timsakip")
    response = upload(client, dossier, workbook(dossier, [row(7)]))
    assert response.status_code == 409
    assert ("locked" if how == "past review" else "finished") in response.text
    assert state(db) == before
    assert f"/import/{dossier.id}/" not in client.get("/admin/iku_excel/").text


def test_a_dossier_changed_meanwhile_refuses_the_import(db, dossier):
    loaded = db.session.get(Dossier, dossier.id)
    with db.engine.begin() as other:  # someone else acts on the dossier meanwhile
        other.execute(update(Dossier).values(version=Dossier.version + 1))
    before = state(db)
    with pytest.raises(workflow.WorkflowError, match="changed"):
        iku_excel.import_workbook(db.session, loaded, "iku.xlsx", workbook(loaded, [row(1)]))
    assert state(db) == before


def test_readers_get_403_on_upload(db, client, people, dossier):
    login(client, "kadis")
    page = client.get("/admin/iku_excel/")
    assert page.status_code == 200
    assert "Download template" in page.text and 'type="file"' not in page.text
    before = state(db)
    assert upload(client, dossier, workbook(dossier, [row(1)])).status_code == 403
    assert state(db) == before


def test_staf_may_import_too(db, client, people, dossier):
    login(client, "staf")
    assert 'type="file"' in client.get("/admin/iku_excel/").text
    assert upload(client, dossier, workbook(dossier, [row(1)])).status_code == 303


def zipped(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("iku.csv", b"Sasaran Strategis;Indikator\n", "Only Excel workbooks (.xlsx)"),
        ("iku.xls", b"\xd0\xcf\x11\xe0 old binary workbook", "Only Excel workbooks (.xlsx)"),
        ("iku.xlsx", b"this is not a workbook", "not a valid Excel workbook"),
        ("iku.xlsx", zipped("hello.txt", "a zip, not a workbook"), "not a valid Excel workbook"),
        ("iku.xlsx", zipped("xl/workbook.xml", "<broken"), "not a valid Excel workbook"),
        ("iku.xlsx", b"", "not a valid Excel workbook"),
    ],
)
def test_only_valid_xlsx_is_accepted(db, client, people, dossier, filename, data, message):
    before = state(db)
    login(client, "timsakip")
    response = upload(client, dossier, data, filename)
    assert response.status_code == 400
    assert message in response.text
    assert state(db) == before


def test_a_corrupt_sheet_is_refused(db, client, people, dossier):
    good = workbook(dossier, [row(1)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(
                item, data[: len(data) // 2] if "worksheets/sheet1" in item.filename else data
            )
    login(client, "timsakip")
    response = upload(client, dossier, out.getvalue())
    assert response.status_code == 400
    assert "not a valid Excel workbook" in response.text
    assert state(db)[:3] == (0, 0, 0)


def test_an_upload_without_a_file_is_refused(client, people, dossier):
    login(client, "timsakip")
    response = post(client, f"/admin/iku_excel/import/{dossier.id}/", {})
    assert response.status_code == 400
    assert "Choose the filled-in template" in response.text


def test_size_limit(app, client, people, dossier):
    with pytest.raises(ImportRefused, match="larger than 1 MB") as refused:
        iku_excel.read_rows("iku.xlsx", b"x" * (1024 * 1024 + 1), max_bytes=1024 * 1024)
    assert refused.value.status == 413
    login(client, "timsakip")
    # The request announces more than the limit; the app refuses it before reading the body.
    response = client.post(
        f"/admin/iku_excel/import/{dossier.id}/",
        data=b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(app.config["MAX_CONTENT_LENGTH"] + 1)},
    )
    assert response.status_code == 413
    assert "too large" in response.text


def test_upload_needs_the_csrf_token(client, people, dossier):
    login(client, "timsakip")
    data = {"file": (io.BytesIO(workbook(dossier, [row(1)])), "iku.xlsx")}
    response = client.post(f"/admin/iku_excel/import/{dossier.id}/", data=data)
    assert response.status_code == 400


def test_units_and_polarity_are_matched_whatever_the_case(dossier):
    rows = rows_of(dossier, [row(1, Satuan="miliar RUPIAH", **{"Polaritas (max/min)": "MIN"})])
    [parsed] = parse_rows(dossier, rows)
    assert (parsed.fields["unit"], parsed.fields["polarity"]) == ("Miliar Rupiah", "min")


def test_a_number_baseline_is_kept_as_indonesian_text(dossier):
    [parsed] = parse_rows(dossier, rows_of(dossier, [row(1, Baseline=12.5)]))
    assert parsed.fields["baseline"] == "12,5"


def test_the_iku_sheet_is_found_by_name(dossier):
    book = load_workbook(io.BytesIO(workbook(dossier, [row(1)])))
    book.move_sheet("IKU", offset=2)
    out = io.BytesIO()
    book.save(out)
    assert book.sheetnames[0] != "IKU"
    assert len(parse_rows(dossier, iku_excel.read_rows("iku.xlsx", out.getvalue()))) == 1


def test_an_empty_sheet_is_refused(dossier):
    with pytest.raises(ImportRefused, match="empty"):
        parse_rows(dossier, [])


def test_indicator_limit(dossier, monkeypatch):
    data = workbook(dossier, [row(1), row(2), row(3)])
    monkeypatch.setattr(iku_excel, "MAX_INDICATORS", 2)
    with pytest.raises(ImportRefused, match="at most 2 indicators"):
        parse_rows(dossier, iku_excel.read_rows("iku.xlsx", data))


# --- workbooks that would cost too much -----------------------------------------------------

SHEET_PART, STRINGS_PART = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"
SHEET_XML = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>{rows}</sheetData></worksheet>"
)
STRINGS_XML = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{items}</sst>'


def repacked(data: bytes, parts: dict[str, bytes]) -> bytes:
    """A workbook with some of its parts replaced, compressed as hard as zip can."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for item in source.infolist():
            content = parts.pop(item.filename, None) or source.read(item)
            target.writestr(item.filename, content)
        for name, content in parts.items():
            target.writestr(name, content)
    return out.getvalue()


def with_strings(data: bytes, strings: bytes) -> bytes:
    """A workbook with a shared-strings part, declared as Excel declares it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        types = archive.read("[Content_Types].xml").decode()
    override = f'<Override PartName="/{STRINGS_PART}" ContentType="{SHARED_STRINGS}"/>'
    types = types.replace("</Types>", override + "</Types>").encode()
    return repacked(data, {STRINGS_PART: strings, "[Content_Types].xml": types})


def sheet(rows: str) -> bytes:
    return SHEET_XML.format(rows=rows).encode()


def many_cells(dossier) -> bytes:
    """Two million empty cells: 8 MB of XML in a file of a few kilobytes."""
    return repacked(
        workbook(dossier, [row(1)]),
        {SHEET_PART: sheet(("<row>" + "<c/>" * 1000 + "</row>") * 2000)},
    )


def long_strings(dossier) -> bytes:
    """A 44 MB shared-strings part (40,000 texts of 1,100 characters) in well under 5 MB."""
    text = "Penjelasan indikator Sarolangun " * 34
    items = "".join(f"<si><t>{n} {text}</t></si>" for n in range(40_000))
    return with_strings(workbook(dossier, [row(1)]), STRINGS_XML.format(items=items).encode())


def cost(call) -> tuple[float, float]:
    """Seconds a call takes, and the peak of Python memory it allocates (MB)."""
    started = time.perf_counter()
    call()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak / (1024 * 1024)


@pytest.mark.parametrize("hostile", [many_cells, long_strings])
def test_a_hostile_workbook_is_refused_cheaply(db, client, people, dossier, hostile):
    data = hostile(dossier)
    assert len(data) < 1024 * 1024
    before = state(db)
    login(client, "timsakip")
    responses = []
    seconds, peak = cost(lambda: responses.append(upload(client, dossier, data)))
    assert seconds < 2 and peak < 50, (seconds, peak)
    for response in responses:
        assert response.status_code == 413
        assert "Remove what the IKU does not need" in response.text
    assert state(db) == before


def test_the_refusal_is_in_indonesian(db, client, people, dossier, monkeypatch):
    monkeypatch.setattr(workbook_limits, "LIMITS", Limits(cells=5))
    config = client.application.extensions["babel"]
    config.locale_selector = lambda: "id"  # the english fixture chose English
    login(client, "timsakip")
    response = upload(client, dossier, workbook(dossier, [row(1)]))
    assert response.status_code == 413
    assert "Lembar kerja berisi lebih dari 5 sel." in response.text
    assert state(db)[:3] == (0, 0, 0)


def with_sheet(rows: str):
    return lambda dossier: repacked(workbook(dossier, [row(1)]), {SHEET_PART: sheet(rows)})


def with_texts(count: int, length: int):
    """Shared strings (openpyxl writes none; Excel does)."""
    items = "".join(f"<si><t>{n} {'x' * length}</t></si>" for n in range(count))
    strings = STRINGS_XML.format(items=items).encode()
    return lambda dossier: with_strings(workbook(dossier, [row(1)]), strings)


def long_definitions(dossier) -> bytes:
    """40 definitions of 30,000 characters: 1.2 MB of text."""
    rows = [row(n, **{"Penjelasan/Formulasi": f"{n} " + "x" * 30_000}) for n in range(1, 41)]
    return workbook(dossier, rows)


# Each limit, a workbook that passes it, and the words of the refusal.
OVER_LIMITS = {
    "rows": (Limits(rows=3), lambda d: workbook(d, [row(1), None, row(3)]), "more than 3 rows"),
    "numbered rows": (Limits(rows=3), with_sheet('<row r="1"/><row r="1048576"/>'),
                      "more than 3 rows"),
    "cells": (Limits(cells=20), lambda d: workbook(d, [row(1)]), "more than 20 cells"),
    "columns": (Limits(columns=12), lambda d: workbook(d, [row(1)]), "right of column L"),
    "far column": (Limits(columns=60), with_sheet('<row><c r="XFD1"><v>1</v></c></row>'),
                   "right of column BH"),
    "texts": (Limits(strings=10), with_texts(11, 10), "more than 10 different texts"),
    "text size": (Limits(strings_mb=1), with_texts(40, 30_000), "texts of the workbook take"),
    "unpacked": (Limits(unpacked_mb=1), long_definitions, "unpacks to more than 1 MB"),
}  # fmt: skip


@pytest.mark.parametrize("limit", OVER_LIMITS)
def test_each_limit(dossier, limit):
    limits, build, words = OVER_LIMITS[limit]
    data = build(dossier)
    if limit not in ("numbered rows", "far column"):  # past the real limits too
        workbook_limits.check(data)
    with pytest.raises(workbook_limits.TooLarge, match=re.escape(words)):
        workbook_limits.check(data, limits)


def test_a_workbook_at_the_import_limit_passes(dossier):
    rows = [row(n, Penjelasan_Formulasi="Rumus " * 300) for n in range(1, 1001)]
    data = workbook(dossier, rows)
    workbook_limits.check(data)
    assert len(parse_rows(dossier, iku_excel.read_rows("iku.xlsx", data))) == 1000


def test_a_part_smaller_than_declared_is_refused(db, client, people, dossier):
    """The zip's directory says the sheet is larger than what comes out of it."""
    data = bytearray(workbook(dossier, [row(1)]))
    entry = data.rindex(SHEET_PART.encode()) - 46  # its central directory entry
    assert data[entry : entry + 4] == b"PK\x01\x02"
    size = int.from_bytes(data[entry + 24 : entry + 28], "little")
    data[entry + 24 : entry + 28] = (size + 1).to_bytes(4, "little")  # the unpacked size
    with pytest.raises(workbook_limits.NotAWorkbook):
        workbook_limits.check(bytes(data))
    login(client, "timsakip")
    response = upload(client, dossier, bytes(data))
    assert response.status_code == 400
    assert "not a valid Excel workbook" in response.text


@pytest.mark.parametrize("damage", ["compressed data", "encrypted"])
def test_a_damaged_part_is_refused(db, client, people, dossier, damage):
    data = bytearray(workbook(dossier, [row(n) for n in range(1, 30)]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET_PART)
    header = info.header_offset
    if damage == "encrypted":
        data[header + 6] |= 1  # the local header's flag: encrypted
        entry = data.rindex(SHEET_PART.encode()) - 46
        data[entry + 8] |= 1  # and the directory's
    else:
        names = int.from_bytes(data[header + 26 : header + 28], "little")
        extra = int.from_bytes(data[header + 28 : header + 30], "little")
        start = header + 30 + names + extra
        data[start + 10 : start + 60] = b"\xff" * 50
    login(client, "timsakip")
    response = upload(client, dossier, bytes(data))
    assert response.status_code == 400
    assert "not a valid Excel workbook" in response.text
    assert state(db)[:3] == (0, 0, 0)


def test_a_part_with_a_dtd_is_refused(dossier):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row><c t="inlineStr"><is><t>&lol;</t></is></c></row></sheetData></worksheet>'
    )
    with pytest.raises(workbook_limits.NotAWorkbook):
        workbook_limits.check(repacked(workbook(dossier, [row(1)]), {SHEET_PART: bomb.encode()}))


def test_template_of_an_unknown_dossier_is_404(client, people):
    login(client, "timsakip")
    assert client.get("/admin/iku_excel/template/999/").status_code == 404
    assert post(client, "/admin/iku_excel/import/999/", {}).status_code == 404
