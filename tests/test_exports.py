"""Excel out: every list export opens cleanly, has translated headers and runs no formulas."""

from __future__ import annotations

import contextvars
import csv
import gc
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from conftest import login, make_dossier
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import event, insert, select, text

from iku_admin import workflow
from iku_admin.extensions import db as _db
from iku_admin.views.base import FORMULA_PREFIXES
from models import Dossier, Indicator, IndicatorTarget, Sop, StrategicObjective

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


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8"))))


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
        and not re.fullmatch(r"-\d+(\.\d+)?", value)
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


def test_export_is_refused_without_read_access(client, people):
    login(client, "kadis")
    assert client.get("/admin/audit_entry/export/csv/").status_code == 403


# --- big exports: keyset-paged batches, each read in a short transaction ---------------------

BIG = 2500  # three batches of export_batch_size (1,000)
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
def big(app, people, client):
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
    assert len(statements) <= len(batches) + 3, statements  # + the count, the user, its roles


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
        lines = served.run(lambda: sum(next(chunks).count(b"\n") for _ in range(1500)))
        assert lines == 1500  # into the second batch
        assert open_transactions() == []  # between batches
        served.run(response.close)  # the download is abandoned
        assert open_transactions() == []
        whole = served.run(lambda: big.get("/admin/dossier/export/csv/").data)
        assert whole.count(b"\n") == BIG + 1
        assert open_transactions() == []
    finally:
        gc.collect()  # a session leaked by a failure would block the next test's TRUNCATE
