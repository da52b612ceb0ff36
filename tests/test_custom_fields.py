"""Custom fields on dossiers and indicators, defined in the panel: the rules of a definition,
how each kind of value is read and shown, and every place a field appears (forms, lists,
details, exports, the IKU editor, the documents, the Excel template and import)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from conftest import csv_cells, fill_iku, flashes, login, make_dossier, post
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select
from test_iku_editor import header, indicator_fields, open_editor, save
from test_iku_excel import row, upload, workbook
from test_workflow import advance

from iku_admin import custom_fields, iku_content, requirements, workflow
from iku_admin.extensions import db as _db
from models import CustomField, Dossier, Indicator, IndicatorUnit
from models.validation import RuleError

ALASAN = "Alasan pemilihan indikator"


def field(entity="indicator", code="alasan", label=ALASAN, kind="text", **rest) -> CustomField:
    """A custom field, stored."""
    definition = CustomField(entity=entity, code=code, label=label, kind=kind, **rest)
    _db.session.add(definition)
    _db.session.commit()
    return definition


def in_indonesian(app, call):
    """``call()``'s result, or its ValueError's message, as an Indonesian user gets it."""
    with app.test_request_context(), force_locale("id"):
        try:
            return call()
        except ValueError as error:
            return f"error: {error}"


# --- the definition -------------------------------------------------------------------------


def test_a_code_is_a_slug_chosen_once(db):
    definition = field()
    with pytest.raises(RuleError, match="cannot change"):
        definition.code = "alasan_lain"
    db.session.rollback()
    for bad in ("Alasan", "1alasan", "alasan-pemilihan", "a" * 41, ""):
        with pytest.raises(RuleError):
            CustomField(entity="indicator", code=bad, label="x", kind="text")


@pytest.mark.parametrize(("entity", "code"), [("dossier", "title"), ("dossier", "extra"),
                                              ("indicator", "unit"), ("indicator", "targets"),
                                              ("dossier", "years"),
                                              # the inputs posted beside a step's button
                                              ("dossier", "note"), ("dossier", "action"),
                                              ("dossier", "csrf_token"),
                                              # the audit log's markers
                                              ("indicator", "changed")])  # fmt: skip
def test_a_code_may_not_be_a_built_in_name(db, entity, code):
    with pytest.raises(RuleError, match="built-in"):
        field(entity=entity, code=code)
    db.session.rollback()


def test_choices_only_and_always_for_a_choice_field(db):
    for kind, choices in (("choice", ""), ("choice", "A\na"), ("text", "A\nB")):
        with pytest.raises(RuleError):
            field(kind=kind, choices=choices)
        db.session.rollback()
    definition = field(kind="choice", choices=" Tinggi \n\nRendah\n")
    assert definition.choice_list == ["Tinggi", "Rendah"]
    assert definition.choices == "Tinggi\nRendah"


def test_the_same_code_once_per_entity(db):
    field(code="catatan")
    field(entity="dossier", code="catatan")
    with pytest.raises(Exception, match=r"(?i)unique"):
        field(code="catatan")
    db.session.rollback()


def test_a_field_with_values_is_deactivated_not_deleted(db, people, client):
    used, unused = field(code="alasan"), field(code="catatan", label="Catatan")
    indicator = fill_iku(make_dossier()).objectives[0].indicators[0]
    indicator.extra = {"alasan": "Data tersedia"}
    db.session.commit()
    login(client, "admin")
    response = post(client, "/admin/custom_field/delete/", {"id": used.id}, follow_redirects=True)
    assert "tidak dapat dihapus" in flashes(response.text)
    assert db.session.get(CustomField, used.id) is not None
    post(client, "/admin/custom_field/delete/", {"id": unused.id})
    db.session.expire_all()
    assert db.session.get(CustomField, unused.id) is None
    unticked = {"entity": "indicator", "code": "alasan", "label": ALASAN, "kind": "text",
                "choices": "", "position": "1", "row_version": "1"}  # fmt: skip
    response = post(client, f"/admin/custom_field/edit/?id={used.id}", unticked)
    assert response.status_code == 302, flashes(response.text)
    db.session.expire_all()
    assert not db.session.get(CustomField, used.id).active
    assert db.session.get(Indicator, indicator.id).extra == {"alasan": "Data tersedia"}
    assert custom_fields.defined(db.session, "indicator") == []


def test_only_the_admin_defines_fields(db, people, client):
    login(client, "timsakip")
    assert client.get("/admin/custom_field/").status_code == 200
    response = post(client, "/admin/custom_field/new/", {
        "entity": "indicator", "code": "alasan", "label": ALASAN, "kind": "text",
        "position": "1", "active": "y"})  # fmt: skip
    assert response.status_code == 403
    assert db.session.scalar(select(CustomField)) is None


# --- reading and showing values ---------------------------------------------------------------


@pytest.mark.parametrize(("kind", "typed", "stored", "shown"), [
    ("number", "88,5", "88.5", "88,5"),
    ("number", "1.150,25", "1150.25", "1.150,25"),
    ("number", "-3", "-3", "-3"),
    ("number", "1.000", "1000", "1.000"),
    ("date", "31/12/2026", "2026-12-31", "31 Desember 2026"),
    ("date", "2026-01-05", "2026-01-05", "5 Januari 2026"),
    ("text", "  Data tersedia  ", "Data tersedia", "Data tersedia"),
    ("choice", "tinggi", "Tinggi", "Tinggi"),
    ("text", "   ", None, ""),
])  # fmt: skip
def test_values_are_read_in_the_users_language_and_stored_canonically(
    app, db, kind, typed, stored, shown
):
    definition = field(kind=kind, choices="Tinggi\nRendah" if kind == "choice" else "")
    value = in_indonesian(app, lambda: custom_fields.parse(definition, typed, "id"))
    assert value == stored
    assert custom_fields.display(definition, value, "id") == shown


@pytest.mark.parametrize(("kind", "typed", "message"), [
    ("number", "1,150.25", "bukan angka yang sah"),
    ("number", "1.15", "bukan angka yang sah"),
    ("number", "delapan", "bukan angka yang sah"),
    ("number", "1234567890123456", "999.999.999.999.999"),
    ("number", "0,1234567890123456", "Paling banyak 15 digit"),
    ("date", "32/01/2026", "hh/bb/tttt"),
    ("date", "31/12/0026", "antara tahun 1900 dan 2999"),
    ("date", "31-12-2026", "hh/bb/tttt"),
    ("date", "31/12/3026", "antara tahun 1900 dan 2999"),
    ("choice", "Sedang", "bukan salah satu pilihan: Tinggi, Rendah"),
    ("text", "baris\nbaru", "hanya satu baris"),
    ("text", "x" * 501, "500"),
])  # fmt: skip
def test_bad_values_are_refused_in_indonesian(app, db, kind, typed, message):
    definition = field(kind=kind, choices="Tinggi\nRendah" if kind == "choice" else "")
    result = in_indonesian(app, lambda: custom_fields.parse(definition, typed, "id"))
    assert result.startswith("error: ") and message in result


def test_typed_cells_for_spreadsheets(db):
    number, day = field(code="nilai", kind="number"), field(code="tanggal", kind="date")
    assert custom_fields.typed(number, "1150.25") == Decimal("1150.25")
    assert custom_fields.typed(day, "2026-12-31") == date(2026, 12, 31)
    assert custom_fields.typed(number, None) is None


# --- dossiers -----------------------------------------------------------------------------------

NEW_DOSSIER = {"title": "IKU 2026–2030", "period_start": "2026", "period_end": "2030",
               "letter_number": "050/777/2026", "letter_date": "2026-01-05",
               "letter_sender": "Bappeda", "letter_subject": "Penyusunan IKU"}  # fmt: skip


def test_the_dossier_form_validates_a_field_and_keeps_the_input(db, people, client):
    field(entity="dossier", code="anggaran", label="Anggaran (juta)", kind="number")
    field(entity="dossier", code="prioritas", label="Prioritas", kind="choice",
          choices="Tinggi\nRendah")  # fmt: skip
    login(client, "staf")
    assert 'name="extra.anggaran"' in client.get("/admin/dossier/new/").text
    response = post(client, "/admin/dossier/new/", {**NEW_DOSSIER, "extra.anggaran": "1,5.0",
                                                     "extra.prioritas": "Tinggi"})  # fmt: skip
    assert response.status_code == 422
    kept = re.search(r'<input[^>]*name="extra.anggaran"[^>]*>', response.text)
    assert kept and 'value="1,5.0"' in kept.group(0)
    assert "bukan angka yang sah" in response.text
    assert db.session.scalar(select(Dossier)) is None
    response = post(client, "/admin/dossier/new/", {**NEW_DOSSIER, "extra.anggaran": "1.150,5",
                                                     "extra.prioritas": "Tinggi"})  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    dossier = db.session.scalar(select(Dossier))
    assert dossier.extra == {"anggaran": "1150.5", "prioritas": "Tinggi"}
    # Edited: shown as typed in Indonesian, emptied and the key goes.
    form = client.get(f"/admin/dossier/edit/?id={dossier.id}").text
    assert re.search(r'value="1150,5"', form)
    edited = {**NEW_DOSSIER, "extra.anggaran": "", "extra.prioritas": "Rendah",
              "version": dossier.version, "outgoing_agenda_number": "",
              "distribution_record": ""}  # fmt: skip
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}", edited)
    assert response.status_code == 302, flashes(response.text)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).extra == {"prioritas": "Rendah"}
    page = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    assert "Keterangan lain" in page and "Rendah" in page
    # A form opened before a field was added, or reactivated, leaves its value alone.
    older = {k: v for k, v in edited.items() if k != "extra.prioritas"}
    older["version"] = db.session.get(Dossier, dossier.id).version
    response = post(client, f"/admin/dossier/edit/?id={dossier.id}", older)
    assert response.status_code == 302, flashes(response.text)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).extra == {"prioritas": "Rendah"}


def test_the_dossier_list_shows_the_listed_fields(db, people, client):
    field(entity="dossier", code="anggaran", label="Anggaran (juta)", kind="number")
    field(entity="dossier", code="rahasia", label="Catatan internal", in_list=False)
    dossier = make_dossier()
    dossier.extra = {"anggaran": "1150.25", "rahasia": "x"}
    db.session.commit()
    login(client, "sekretaris")
    page = client.get("/admin/dossier/").text
    assert "Anggaran (juta)" in page and "1.150,25" in page
    assert "Catatan internal" not in page
    assert client.get("/admin/dossier/?sort=1").status_code == 200  # built-in sorts unchanged


def test_exports_carry_every_active_field_typed(db, people, client):
    field(entity="dossier", code="anggaran", label="Anggaran (juta)", kind="number", in_list=False)
    field(entity="dossier", code="tenggat", label="Tenggat", kind="date")
    field(entity="dossier", code="lama", label="Kolom lama", active=False)
    dossier = make_dossier()
    dossier.extra = {"anggaran": "1150.25", "tenggat": "2026-12-31", "lama": "x"}
    make_dossier("Tanpa nilai")
    db.session.commit()
    login(client, "sekretaris")
    rows = csv_cells(client.get("/admin/dossier/export/csv/").data)
    assert rows[0][-2:] == ["Anggaran (juta)", "Tenggat"] and "Kolom lama" not in rows[0]
    by_title = {r[1]: r for r in rows[1:]}
    assert by_title["IKU 2026–2030"][-2:] == ["1150,25", "2026-12-31"]
    assert by_title["Tanpa nilai"][-2:] == ["", ""]
    sheet = load_workbook(io.BytesIO(client.get("/admin/dossier/export/xlsx/").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Anggaran (juta)", "Tenggat")
    cells = {r[1]: r[-2:] for r in rows[1:]}
    assert cells["IKU 2026–2030"][0] == 1150.25
    assert cells["IKU 2026–2030"][1].date() == date(2026, 12, 31)
    assert cells["Tanpa nilai"] == (None, None)


def test_a_step_can_tell_whether_a_custom_field_is_filled(db):
    field(entity="dossier", code="anggaran", kind="number")
    dossier = make_dossier()
    assert not custom_fields.is_filled(dossier, "anggaran")
    assert custom_fields.is_filled(dossier, "title")
    assert not custom_fields.is_filled(dossier, "outgoing_agenda_number")
    dossier.extra = {"anggaran": "5"}
    assert custom_fields.is_filled(dossier, "anggaran")
    assert ("anggaran", ALASAN) in requirements.choices(db.session)  # a step may require it


# --- indicators -------------------------------------------------------------------------------


def test_a_required_indicator_field_is_part_of_the_iku_check(db, people):
    dossier = advance(make_dossier(), people, 3)
    fill_iku(dossier)
    indicator = dossier.objectives[0].indicators[0]
    step = dossier.current_step
    assert workflow.missing_inputs(dossier, step) == []
    field(required=True)
    assert workflow.missing_inputs(dossier, step) == [f"{indicator.name}: {ALASAN}"]
    assert requirements.indicator_gaps(indicator, dossier.years) == {"alasan": ALASAN}
    indicator.extra = {"alasan": "Data tersedia"}
    db.session.commit()
    assert workflow.missing_inputs(dossier, step) == []


def test_the_editor_refuses_a_bad_value_next_to_its_cell(db, people, client):
    field(code="bobot", label="Bobot", kind="number")
    dossier = advance(make_dossier(), people, 3)
    login(client, "timsakip")
    fields = open_editor(client, dossier)
    typed = [*header(fields), ["row", "onew1"], ["onew1-name", "Meningkatnya investasi"]]
    typed += [*indicator_fields("inew2", "Nilai investasi"), ["inew2-x-bobot", "1,150.5"]]
    response = save(client, dossier, typed, status=422)
    cell = re.search(r'<input[^>]*id="inew2-x-bobot"[^>]*>\s*<div[^>]*>([^<]*)', response.text)
    assert cell and 'value="1,150.5"' in cell.group(0) and "bukan angka yang sah" in cell.group(1)
    assert db.session.scalar(select(Indicator)) is None
    typed[-1] = ["inew2-x-bobot", "1.150,5"]
    save(client, dossier, typed)
    assert db.session.scalar(select(Indicator.extra)) == {"bobot": "1150.5"}
    # A page without the field (opened before it was added) leaves its value alone.
    older = [f for f in open_editor(client, dossier) if not f[0].endswith("-x-bobot")]
    older = [[n, "Nilai investasi baru" if n.endswith("-name") and n.startswith("i") else v]
             for n, v in older]  # fmt: skip
    save(client, dossier, older)
    db.session.expire_all()
    assert db.session.execute(select(Indicator.name, Indicator.extra)).one() == (
        "Nilai investasi baru", {"bobot": "1150.5"})  # fmt: skip


def test_a_deactivated_field_keeps_its_values_through_an_editor_save(db, people):
    kept, shown = field(code="lama", active=False), field(code="alasan")
    dossier = advance(make_dossier(), people, 3)
    indicator = fill_iku(dossier).objectives[0].indicators[0]
    indicator.extra = {"lama": "tetap", "alasan": "lama"}
    db.session.commit()
    grid = iku_content.rows_of(dossier, iku_content.load(db.session, dossier), False, [shown])
    grid[0].indicators[0].extra["alasan"] = "baru"
    iku_content.save(db.session, dossier, dossier.version, grid, [shown])
    assert db.session.get(Indicator, indicator.id).extra == {"lama": "tetap", "alasan": "baru"}
    assert kept.code == "lama"


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, as poppler's pdftotext reads it (words joined by single spaces)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (apt-get install poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(text.stdout.decode().split())


def test_acceptance_a_field_and_a_unit_added_in_the_panel(app, db, people, client):
    """The admin adds an indicator field and (again) the unit "Orang", only through the panel;
    Tim SAKIP fills an indicator with both, and both appear in the indicator form and list,
    the IKU PDF and the Excel template, and come through an Excel import."""
    login(client, "admin")
    response = post(client, "/admin/custom_field/new/", {
        "entity": "indicator", "label": ALASAN, "code": "alasan_pemilihan", "kind": "text",
        "choices": "", "position": "1", "in_list": "y", "active": "y"})  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    orang = db.session.scalar(select(IndicatorUnit.id).where(IndicatorUnit.name == "Orang"))
    assert post(client, "/admin/indicator_unit/delete/", {"id": orang}).status_code == 302
    assert IndicatorUnit.names(db.session).count("Orang") == 0
    assert post(client, "/admin/indicator_unit/new/", {"name": "Orang"}).status_code == 302
    post(client, "/logout")

    dossier = advance(make_dossier(), people, 3)
    login(client, "timsakip")
    fields = open_editor(client, dossier)
    assert any(name == "inew2-x-alasan_pemilihan" for name, _value in
               [*fields, ["inew2-x-alasan_pemilihan", ""]])  # fmt: skip
    reason = "Mengukur kinerja pelayanan perizinan"
    typed = [*header(fields), ["row", "onew1"], ["onew1-name", "Meningkatnya pelayanan"]]
    typed += [*indicator_fields("inew2", "Jumlah pemohon dilayani", unit="Orang"),
              ["inew2-x-alasan_pemilihan", reason]]  # fmt: skip
    save(client, dossier, typed)
    indicator = db.session.scalar(select(Indicator))
    assert (indicator.unit, indicator.extra) == ("Orang", {"alasan_pemilihan": reason})

    form = client.get(f"/admin/indicator/edit/?id={indicator.id}").text
    assert ALASAN in form and f'value="{reason}"' in form
    assert '<option selected value="Orang">' in form or 'value="Orang" selected' in form
    listed = client.get(f"/admin/indicator/?dossier_id={dossier.id}").text
    assert ALASAN in listed and reason in listed and "Orang" in listed
    text = pdf_text(client.get(f"/admin/documents/iku/{dossier.id}.pdf").data)
    assert "Orang" in text and f"{ALASAN}: {reason}" in text

    template = client.get(f"/admin/iku_excel/template/{dossier.id}/").data
    book = load_workbook(io.BytesIO(template))
    assert ALASAN in [c.value for c in book["IKU"][1]]
    assert "Orang" in [r[0] for r in book["Satuan"].iter_rows(min_row=2, values_only=True)]
    second = "Alasan kedua, dari Excel"
    filled = workbook(dossier, [row(2, "Meningkatnya pelayanan", Satuan="Orang",
                                    **{ALASAN: second})])  # fmt: skip
    response = upload(client, dossier, filled)
    assert response.status_code == 303, flashes(response.text)
    imported = db.session.scalar(select(Indicator).where(Indicator.name == "Nilai investasi 2"))
    assert (imported.unit, imported.extra) == ("Orang", {"alasan_pemilihan": second})


def test_the_import_refuses_a_bad_custom_value_by_row_and_column(app, db, people, client):
    field(code="bobot", label="Bobot", kind="number")
    field(code="tingkat", label="Tingkat", kind="choice", choices="Tinggi\nRendah")
    dossier = make_dossier()
    book = load_workbook(io.BytesIO(workbook(dossier, [])))
    assert [c.value for c in book["IKU"][1]][-2:] == ["Bobot", "Tingkat"]
    assert book["Pilihan"]["A2"].value == "Tinggi"
    validations = [v.sqref for v in book["IKU"].data_validations.dataValidation]
    assert any(str(ref).startswith(chr(ord("A") + len(book["IKU"][1]) - 1)) for ref in validations)
    login(client, "timsakip")
    data = workbook(dossier, [row(1, "Investasi", Bobot="1,150.5", Tingkat="Tinggi"),
                              row(2, "Investasi", Bobot=88.5, Tingkat="Sedang")])  # fmt: skip
    response = upload(client, dossier, data)
    assert response.status_code == 400
    problems = re.findall(r'<tr data-row="(\d+)">\s*<td>\d+</td><td>([^<]*)</td><td>([^<]*)',
                          response.text)  # fmt: skip
    assert [(r, c) for r, c, _m in problems] == [("2", "Bobot"), ("3", "Tingkat")]
    assert "bukan angka yang sah" in problems[0][2] and "Sedang" in problems[1][2]
    assert db.session.scalar(select(Indicator)) is None
    data = workbook(dossier, [row(1, "Investasi", Bobot=88.5, Tingkat="rendah")])
    upload(client, dossier, data)
    assert db.session.scalar(select(Indicator.extra)) == {"bobot": "88.5", "tingkat": "Rendah"}


def test_the_indicator_export_and_iku_xlsx_carry_the_fields(db, people, client):
    field(code="bobot", label="Bobot", kind="number")
    dossier = fill_iku(make_dossier())
    indicator = dossier.objectives[0].indicators[0]
    indicator.extra = {"bobot": "12.5"}
    db.session.commit()
    login(client, "timsakip")
    rows = csv_cells(client.get("/admin/indicator/export/csv/").data)
    assert rows[0][-1] == "Bobot" and rows[1][-1] == "12,5"
    sheet = load_workbook(io.BytesIO(client.get(f"/admin/documents/iku/{dossier.id}.xlsx").data))
    values = list(sheet.active.iter_rows(values_only=True))
    assert values[5][-1] == "Bobot" and values[7][-1] == 12.5


# --- changing a definition that is in use ---------------------------------------------------


def definition_form(definition: CustomField, **changes) -> dict:
    data = {"entity": definition.entity, "code": definition.code, "label": definition.label,
            "kind": definition.kind, "choices": definition.choices,
            "position": str(definition.position), "row_version": definition.row_version,
            "in_list": "y", "active": "y"}  # fmt: skip
    return {k: v for k, v in (data | changes).items() if v is not None}


def test_a_kind_or_a_choice_in_use_does_not_change(db, people, client):
    definition = field(entity="dossier", code="sumber", label="Sumber dana", kind="choice",
                       choices="APBD\nAPBN\nLainnya")  # fmt: skip
    dossier = make_dossier()
    dossier.extra = {"sumber": "Lainnya"}
    db.session.commit()
    login(client, "admin")
    url = f"/admin/custom_field/edit/?id={definition.id}"
    response = post(client, url, definition_form(definition, kind="text", choices=""))
    assert response.status_code == 422 and "jenisnya tidak dapat diubah" in response.text
    response = post(client, url, definition_form(definition, choices="APBD\nAPBN"))
    assert response.status_code == 422 and "tidak lagi ada di pilihannya" in response.text
    db.session.expire_all()
    assert db.session.get(CustomField, definition.id).choice_list == ["APBD", "APBN", "Lainnya"]
    response = post(client, url, definition_form(definition, choices="APBD\nAPBN\nLainnya\nHibah"))
    assert response.status_code == 302  # adding a choice is fine
    assert db.session.get(Dossier, dossier.id).extra == {"sumber": "Lainnya"}


def test_a_field_a_step_requires_stays_active_and_a_lost_one_is_named(db, people, client):
    definition = field(entity="dossier", code="tanda_terima", label="Tanda terima")
    draft = workflow.new_sop_version(db.session, workflow.active_sop(db.session))
    draft.steps[8].requirements = [*draft.steps[8].requirements, "tanda_terima"]
    db.session.commit()
    login(client, "admin")
    url = f"/admin/custom_field/edit/?id={definition.id}"
    response = post(client, url, definition_form(definition, active=None))
    assert response.status_code == 422 and "diperlukan oleh langkah" in response.text
    response = post(client, "/admin/custom_field/delete/", {"id": definition.id})
    assert "diperlukan oleh langkah" in flashes(client.get(response.headers["Location"]).text)
    db.session.expire_all()
    assert db.session.get(CustomField, definition.id).active
    # Deactivated behind the panel's back: the version is not copied nor activated, and says
    # why; no 500.
    db.session.get(CustomField, definition.id).active = False
    db.session.commit()
    response = post(client, "/admin/sop/action/", {"action": "new_version", "rowid": str(draft.id)})
    assert response.status_code == 302
    assert "tanda_terima" in flashes(client.get(response.headers["Location"]).text)
    with pytest.raises(workflow.WorkflowError, match="tanda_terima"):
        workflow.activate_sop(db.session, db.session.get(type(draft), draft.id))
