"""Excel out: every list export opens cleanly, has translated headers and runs no formulas."""

from __future__ import annotations

import codecs
import contextvars
import gc
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from conftest import csv_cells, login, make_dossier, make_user
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import Date, DateTime, Integer, Numeric, event, insert, inspect, select, text

from iku_admin import spreadsheet, workflow
from iku_admin.extensions import db as _db
from iku_admin.views.base import FORMULA_PREFIXES, export_cell, neutralise_cell
from models import Dossier, Indicator, IndicatorTarget, Sop, StrategicObjective
from models.base import LOCAL_TZ

EXPORTED = ["dossier", "indicator", "objective", "target", "step_record"]
FORMULAS = ['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.fixture
def exported(db, people):
    """A dossier past step 1 whose IKU holds indicators named like spreadsheet formulas."""
    dossier = make_dossier(title="=1+1 IKU")
    indicators = [
        Indicator(name=name, unit="Persen", data_source="@x", responsible="-y", order=n,
                  targets=[IndicatorTarget(year=2026, target=Decimal(-1))])
        for n, name in enumerate(FORMULAS, start=1)
    ]  # fmt: skip
    db.session.add(
        StrategicObjective(dossier_id=dossier.id, name="=SUM(1)", order=1, indicators=indicators)
    )
    db.session.commit()
    workflow.complete(dossier, people["kadis"], note="=cmd|' /C calc'!A0")
    return dossier


def export_view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)


def expected_headers(app, endpoint) -> list[str]:
    """The view's column labels, rendered through gettext in Indonesian.

    A column without a label would be exported under Flask-Admin's prettified English
    column name, so a missing label fails here (KeyError).
    """
    view = export_view(app, endpoint)
    with app.test_request_context(), force_locale("id"):
        return [str(view.column_labels[name]) for name, _label in view.get_export_columns()]


def csv_rows(response, delimiter: str = ";") -> list[list[str]]:
    return csv_cells(response.data, delimiter)


def xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("endpoint", EXPORTED)
def test_csv_and_xlsx_open_with_indonesian_headers(app, client, exported, endpoint):
    login(client, "kadis")  # locale "id", read-only on every exported screen
    headers = expected_headers(app, endpoint)
    for kind, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        response = client.get(f"/admin/{endpoint}/export/{kind}/")
        assert response.status_code == 200, (endpoint, kind)
        rows = read(response)
        assert rows[0] == headers, (endpoint, kind)
        assert len(rows) > 1, (endpoint, kind)
        assert all(len(row) == len(headers) for row in rows), (endpoint, kind)


def dangerous(value) -> bool:
    """Text a spreadsheet would run as a formula (a plain negative number is fine)."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not re.fullmatch(r"-\d+(,\d+)?", value)  # a number, Indonesian way
    )


@pytest.mark.parametrize("endpoint", EXPORTED)
def test_exports_neutralise_formulas(client, exported, endpoint):
    login(client, "kadis")
    for kind, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        cells = [
            c for row in read(client.get(f"/admin/{endpoint}/export/{kind}/"))[1:] for c in row
        ]
        assert not [c for c in cells if dangerous(c)], (endpoint, kind)


def test_formula_names_arrive_quoted(client, exported):
    login(client, "kadis")
    for kind, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        cells = {c for row in read(client.get(f"/admin/indicator/export/{kind}/")) for c in row}
        # XML turns a stored CR into LF when the workbook is read back.
        quoted = {"'" + (n.replace("\r", "\n") if kind == "xlsx" else n) for n in FORMULAS}
        assert quoted <= cells, kind
        assert {"'=SUM(1)", "'@x", "'-y"} <= cells, kind
    notes = {c for row in csv_rows(client.get("/admin/step_record/export/csv/")) for c in row}
    assert "'=cmd|' /C calc'!A0" in notes


# --- typed cells, sheet names, and a CSV for the reader's locale ------------------------------

SCREENS_ID = {"dossier": "Berkas", "step_record": "Riwayat Langkah"}


@pytest.fixture
def typed(exported, db):
    """The ``exported`` dossier and a second one: a dash in the title, a leading-zero letter
    number, a decimal target."""
    dossier = make_dossier(title="Rencana – Strategis", letter_number="050/001")
    target = IndicatorTarget(year=2027, target=Decimal("12.5"))
    indicator = Indicator(name="Nilai", unit="Persen", order=1, targets=[target])
    db.session.add(
        StrategicObjective(dossier_id=dossier.id, name="Investasi", order=1, indicators=[indicator])
    )
    db.session.commit()
    return dossier


def xlsx_sheet(response):
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.worksheets) == 1
    return book.active


def model_column_kinds(app, endpoint) -> dict[str, str]:
    """Export header -> "number" or "date" for the view's plain number and date columns."""
    view = export_view(app, endpoint)
    columns = inspect(view.model).columns
    headers = dict(zip([n for n, _ in view.get_export_columns()], expected_headers(app, endpoint),
                       strict=True))  # fmt: skip
    kinds = {}
    for name, header in headers.items():
        if name in columns and name not in view.column_formatters_export | view.column_choices:
            column_type = columns[name].type
            column_type = getattr(column_type, "impl", column_type)  # UTCDateTime: DateTime
            if isinstance(column_type, Integer | Numeric):
                kinds[header] = "number"
            elif isinstance(column_type, Date | DateTime):
                kinds[header] = "date"
    return kinds


@pytest.mark.parametrize("endpoint", [*EXPORTED, "audit_entry", "login_attempt"])
def test_xlsx_cells_are_typed_in_a_sheet_named_after_the_screen(app, client, typed, endpoint):
    login(client, "kadis" if endpoint in EXPORTED else "admin")
    make_user("ghost", "staf")  # a login attempt to export
    client.post("/login", data={"username": "ghost", "password": "x"})
    sheet = xlsx_sheet(client.get(f"/admin/{endpoint}/export/xlsx/"))
    view = export_view(app, endpoint)
    with app.test_request_context(), force_locale("id"):
        assert sheet.title == str(view.name)[:31]
    assert sheet.title == SCREENS_ID.get(endpoint, sheet.title)
    headers = [c.value for c in sheet[1]]
    kinds = model_column_kinds(app, endpoint)
    assert kinds, endpoint
    for header, kind in kinds.items():
        cells = [row[headers.index(header)] for row in sheet.iter_rows(min_row=2)]
        assert cells, (endpoint, header)
        for cell in cells:
            if cell.value is None:
                continue
            if kind == "number":
                assert cell.data_type == "n" and not cell.is_date, (endpoint, header, cell.value)
                assert isinstance(cell.value, int | float), (endpoint, header, cell.value)
            else:
                assert cell.is_date and isinstance(cell.value, datetime), (endpoint, header)
                assert cell.number_format.startswith("yyyy-mm-dd"), cell.number_format
    for row in sheet.iter_rows(min_row=2):
        for cell, header in zip(row, headers, strict=True):
            if header not in kinds and cell.value is not None:
                assert cell.data_type == "s", (endpoint, header, cell.value)


def test_xlsx_dossier_values(client, typed):
    login(client, "kadis")
    sheet = xlsx_sheet(client.get("/admin/dossier/export/xlsx/"))
    rows = [dict(zip([c.value for c in sheet[1]], row, strict=True))
            for row in sheet.iter_rows(min_row=2)]  # fmt: skip
    mine = next(r for r in rows if r["No"].value == typed.id)
    assert mine["Judul"].value == "Rencana – Strategis"
    assert (mine["Nomor surat"].value, mine["Nomor surat"].data_type) == ("050/001", "s")
    assert mine["Tanggal surat"].value == datetime(2026, 1, 5)
    assert mine["Tanggal surat"].number_format == "yyyy-mm-dd"
    registered = mine["Tanggal registrasi"]
    assert registered.number_format == "yyyy-mm-dd hh:mm"
    local = typed.created_at.astimezone(LOCAL_TZ).replace(tzinfo=None)
    assert abs(registered.value - local) < timedelta(seconds=1)  # office time, not UTC
    quoted = next(r for r in rows if r["No"].value != typed.id)["Judul"]
    assert (quoted.value, quoted.data_type) == ("'=1+1 IKU", "s")


def test_xlsx_negative_and_decimal_targets_are_numbers(client, typed):
    login(client, "kadis")
    sheet = xlsx_sheet(client.get("/admin/target/export/xlsx/"))
    targets = [row[3] for row in sheet.iter_rows(min_row=2)]  # after dossier, indicator, year
    assert {(c.value, c.data_type) for c in targets} == {(-1, "n"), (12.5, "n")}


def test_csv_opens_in_an_indonesian_spreadsheet(client, typed):
    login(client, "kadis")
    response = client.get("/admin/dossier/export/csv/")
    assert response.data.startswith(codecs.BOM_UTF8)
    assert response.content_type == "text/csv; charset=utf-8"
    header, *rows = csv_rows(response)
    assert header[:3] == ["No", "Judul", "Awal periode"]
    mine = dict(zip(header, next(r for r in rows if r[0] == str(typed.id)), strict=True))
    assert mine["Judul"] == "Rencana – Strategis"
    assert (mine["Nomor surat"], mine["Tanggal surat"]) == ("050/001", "2026-01-05")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", mine["Tanggal registrasi"])
    targets = {row[3] for row in csv_rows(client.get("/admin/target/export/csv/"))[1:]}
    assert targets == {"-1,00", "12,50"}  # numbers with the decimal comma, not neutralised


def test_csv_for_an_english_user_uses_commas(client, people, typed, db):
    people["kadis"].locale = "en"
    db.session.commit()
    login(client, "kadis")
    response = client.get("/admin/target/export/csv/")
    assert response.data.startswith(codecs.BOM_UTF8)
    header, *rows = csv_rows(response, delimiter=",")
    assert header == ["Dossier", "Indicator", "Year", "Target"]
    assert {row[3] for row in rows} == {"-1.00", "12.50"}


@pytest.mark.parametrize(
    ("locale", "separators"), [("id", (";", ",")), ("en", (",", ".")), ("de", (";", ","))]
)
def test_csv_separators_follow_the_locale(locale, separators):
    assert spreadsheet.csv_separators(locale) == separators


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Riwayat langkah", "Riwayat langkah"),
        ("Sasaran [strategis]: 2026/2030?", "Sasaran  strategis   2026 2030"),
        ("Indikator kinerja utama per perangkat daerah", "Indikator kinerja utama per per"),
        ("'*'", "Data"),
    ],
)
def test_sheet_titles_keep_excel_rules(name, title):
    assert spreadsheet.sheet_title(name) == title
    assert len(title) <= 31


HIDDEN = ["=1+1", " =1+1", "\u00a0=HYPERLINK(1)", "\u202f+1", "\ufeff@SUM(A1)", "\u200b-1+1",
          " \t\u3000=x", "\n=x", "\tTAB", "\rCR"]  # fmt: skip


@pytest.mark.parametrize("text", HIDDEN)
def test_formulas_behind_whitespace_and_invisible_marks_are_neutralised(text):
    assert neutralise_cell(text) == "'" + text
    assert export_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["IKU – 2026", "050/001", "a=b", "", "12,5", " kata"])
def test_plain_text_is_left_alone(value):
    assert neutralise_cell(value) == value


@pytest.mark.parametrize("value", [-1, Decimal("-12.5"), -0.5, 0, date(2026, 1, 5), None])
def test_numbers_dates_and_empty_cells_stay_typed(value):
    assert export_cell(value) == value and type(export_cell(value)) is type(value)


def test_hidden_formulas_arrive_quoted_in_both_files(client, exported, db):
    names = ["\u00a0=HYPERLINK(1)", " +1", "\ufeff@x"]
    objective = db.session.scalar(select(StrategicObjective))
    objective.indicators += [Indicator(name=n, order=9, unit="Persen") for n in names]
    db.session.commit()
    login(client, "kadis")
    for kind, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        cells = {c for row in read(client.get(f"/admin/indicator/export/{kind}/")) for c in row}
        assert {"'" + n for n in names} <= cells, kind


def test_export_is_refused_without_read_access(client, people):
    login(client, "kadis")
    assert client.get("/admin/audit_entry/export/csv/").status_code == 403


# --- big exports: keyset-paged batches, each read in a short transaction ---------------------

BIG = 2500  # three batches of BATCH
BATCH = 1000  # the views' batch size in these tests (smaller than in use, for speed)
DUE = [None, *(datetime(2026, 3, day, 2, tzinfo=UTC) for day in (2, 3, 4))]  # ties and NULLs


def fill_dossiers(count: int) -> None:
    """``count`` dossiers written with one Core insert: repeated titles, statuses and due
    times (many ties, a quarter without a due time)."""
    sop_id = _db.session.scalar(select(Sop.id).where(Sop.status == "active"))
    _db.session.execute(
        insert(Dossier),
        [
            {"title": f"{'Alpha' if n % 3 else 'Beta'} {n % 7}", "period_start": 2026,
             "period_end": 2030, "letter_number": f"050/{n}", "letter_date": date(2026, 1, 5),
             "letter_sender": "Bappeda", "letter_subject": "IKU", "sop_id": sop_id,
             "status": "done" if n % 2 else "in_progress", "step_due_at": DUE[n % len(DUE)]}
            for n in range(count)
        ],
    )  # fmt: skip
    _db.session.commit()


def list_args(app, sort: str | None = None, desc: bool = False, **args) -> str:
    """A list URL's query: ``sort`` names a list column (Flask-Admin wants its index)."""
    view = export_view(app, "dossier")
    if sort:
        args["sort"] = [name for name, _label in view._list_columns].index(sort)
        if desc:
            args["desc"] = 1
    return urlencode(args)


def status_filter(app) -> str:
    """The URL argument of the dossier list's "status equals" filter."""
    view = export_view(app, "dossier")
    for index, flt in enumerate(view._filters):
        if getattr(flt.column, "key", None) == "status" and isinstance(flt, FilterEqual):
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise LookupError("no status filter")


def exported_ids(client, query: str = "", kind: str = "csv") -> list[int]:
    response = client.get(f"/admin/dossier/export/{kind}/?{query}")
    assert response.status_code == 200
    rows = csv_rows(response) if kind == "csv" else xlsx_rows(response)
    return [int(row[0]) for row in rows[1:]]


def database_order(*order, where=()) -> list[int]:
    """Dossier ids as the database sorts them: the list's order, ties by number."""
    return list(_db.session.scalars(select(Dossier.id).where(*where).order_by(*order)))


@pytest.fixture
def big(app, people, client, monkeypatch):
    monkeypatch.setattr(export_view(app, "dossier"), "export_batch_size", BATCH)
    fill_dossiers(BIG)
    login(client, "staf")
    return client


@pytest.mark.parametrize(
    ("sort", "desc"),
    [(None, False), ("title", False), ("step_due_at", True), ("step_due_at", False)],
)
def test_export_has_every_row_once_in_the_list_order(app, big, sort, desc):
    column = getattr(Dossier, sort or "id")
    expected = database_order(column.desc() if desc or not sort else column, Dossier.id)
    assert len(expected) == BIG
    assert exported_ids(big, list_args(app, sort, desc)) == expected


def test_export_keeps_search_and_filters(app, big):
    query = list_args(app, "step_due_at", True, search="Beta", **{status_filter(app): "done"})
    expected = database_order(
        Dossier.step_due_at.desc(), Dossier.id,
        where=(Dossier.title.like("Beta%"), Dossier.status == "done"),
    )  # fmt: skip
    assert 0 < len(expected) < BIG
    assert exported_ids(big, query) == expected
    assert exported_ids(big, query, "xlsx") == expected


def test_export_reads_a_batch_per_statement_not_a_row(app, big):
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", seen)
    try:
        assert len(exported_ids(big)) == BIG
    finally:
        event.remove(_db.engine, "before_cursor_execute", seen)
    batches = [s for s in statements if "FROM dossier" in s and "LIMIT" in s]
    assert len(batches) == 3  # 1,000 + 1,000 + 500 rows
    steps = [s for s in statements if "FROM sop_step" in s]  # a batch's current steps
    assert len(steps) == len(batches)
    # + the count, the user, its roles, its grants, the custom field definitions
    assert len(statements) <= len(batches) + len(steps) + 5, statements
    assert sum("FROM custom_field" in s for s in statements) == 1


def test_export_stops_at_export_max_rows(app, big, monkeypatch):
    monkeypatch.setattr(export_view(app, "dossier"), "export_max_rows", 1500)
    assert exported_ids(big) == database_order(Dossier.id.desc())[:1500]
    assert exported_ids(big, kind="xlsx") == database_order(Dossier.id.desc())[:1500]


def open_transactions() -> list[str]:
    """Our database's connections left idle in a transaction (PostgreSQL)."""
    with _db.engine.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            )
        )


def test_no_transaction_stays_open_during_or_after_a_download(app, big):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("pg_stat_activity is PostgreSQL's")
    # Served as a WSGI server serves it, in a context of its own: the view's session is
    # removed when the view returns, before the streamed body is read (the app context the
    # tests share would hide that).
    served = contextvars.Context()
    _db.session.rollback()  # the test's own session (the login above) holds nothing open
    try:
        response = served.run(big.get, "/admin/dossier/export/csv/", buffered=False)
        chunks = response.iter_encoded()
        lines = served.run(lambda: next(chunks).count(b"\n") + next(chunks).count(b"\n"))
        assert lines == 2001  # the header and two batches, the third not read yet
        assert open_transactions() == []  # between batches
        served.run(response.close)  # the download is abandoned
        assert open_transactions() == []
        whole = served.run(lambda: big.get("/admin/dossier/export/csv/").data)
        assert whole.count(b"\n") == BIG + 1
        assert open_transactions() == []
    finally:
        gc.collect()  # a session leaked by a failure would block the next test's TRUNCATE
