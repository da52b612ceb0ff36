"""Indicator units are a list kept in the panel; every write path keeps to it."""

from __future__ import annotations

import io

import pytest
from conftest import fill_iku, flashes, login, make_dossier, post
from openpyxl import load_workbook
from sqlalchemy import select

from iku_admin.extensions import db as _db
from models import Indicator, IndicatorUnit
from models.validation import RuleError


def unit_id(name: str) -> int:
    return _db.session.scalar(select(IndicatorUnit.id).where(IndicatorUnit.name == name))


def test_a_unit_added_in_the_panel_is_offered_everywhere(db, people, client):
    login(client, "admin")
    assert post(client, "/admin/indicator_unit/new/", {"name": "Kunjungan"}).status_code == 302
    dossier = make_dossier()
    indicator = fill_iku(dossier).objectives[0].indicators[0]
    post(client, "/logout")
    login(client, "timsakip")
    form = client.get(f"/admin/indicator/edit/?id={indicator.id}").text
    assert '<option value="Kunjungan">' in form
    book = load_workbook(io.BytesIO(client.get(f"/admin/iku_excel/template/{dossier.id}/").data))
    assert "Kunjungan" in [r[0] for r in book["Satuan"].iter_rows(min_row=2, values_only=True)]
    indicator.unit = "Kunjungan"
    db.session.commit()  # the model accepts it


def test_a_unit_not_on_the_list_is_refused_on_every_write_path(db, people):
    indicator = fill_iku(make_dossier()).objectives[0].indicators[0]
    indicator.unit = "Ekor"
    with pytest.raises(RuleError):
        db.session.flush()
    db.session.rollback()


def test_a_unit_in_use_is_neither_renamed_nor_deleted(db, people, client):
    fill_iku(make_dossier())
    used = _db.session.scalar(select(Indicator.unit))
    login(client, "admin")
    response = post(client, f"/admin/indicator_unit/edit/?id={unit_id(used)}",
                    {"name": used + " baru", "row_version": 1})  # fmt: skip
    assert response.status_code == 422
    assert "tidak dapat diubah" in response.text
    response = post(client, "/admin/indicator_unit/delete/", {"id": unit_id(used)},
                    follow_redirects=True)  # fmt: skip
    assert "tidak dapat dihapus" in flashes(response.text)
    assert unit_id(used) is not None
    unused = _db.session.scalar(select(IndicatorUnit.name).where(IndicatorUnit.name != used))
    post(client, "/admin/indicator_unit/delete/", {"id": unit_id(unused)})
    assert unit_id(unused) is None


def test_only_the_admin_and_tim_sakip_keep_the_list(db, people, client):
    login(client, "staf")
    assert client.get("/admin/indicator_unit/").status_code == 200
    post(client, "/admin/indicator_unit/new/", {"name": "Kunjungan"})
    assert unit_id("Kunjungan") is None
