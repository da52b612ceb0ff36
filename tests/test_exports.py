"""Excel out: every list export opens cleanly, has translated headers and runs no formulas."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from conftest import login, make_dossier
from flask_babel import force_locale
from openpyxl import load_workbook

from iku_admin import workflow
from iku_admin.views.base import FORMULA_PREFIXES
from models import Indicator, IndicatorTarget, StrategicObjective

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
