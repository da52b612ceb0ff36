"""The IKU editor on the dossier page, through HTTP: one POST saves the whole grid (creates,
updates, deletes and reorders rows) or nothing, with a message next to every refused value;
a stale page, a locked dossier and a user without write access are refused."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from conftest import fill_iku, flashes, login, make_dossier, post
from flask_babel import force_locale
from sqlalchemy import select, update
from test_content_lock import content
from test_workflow import DONE, advance

from iku_admin import iku_content, workflow
from iku_admin.i18n import _
from models import Dossier, Indicator, IndicatorTarget, StrategicObjective

YEARS = range(2026, 2031)
WRITERS = ("timsakip", "staf")
STALE = ("Someone else changed the IKU of this dossier after you opened it. Your input was not "
         "saved and is still below; check it against the saved IKU (reload the page in another "
         "tab) and save again.")  # fmt: skip


def shown(app, msgid: str, **values) -> str:
    """``msgid`` as an Indonesian user reads it."""
    with app.test_request_context(), force_locale("id"):
        return _(msgid, **values)


class EditorForm(HTMLParser):
    """The fields of the page's IKU editor form, in document order, as a browser posts them
    (the rows waiting in <template> are not part of the form)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: list[list[str]] = []
        self.inside = False
        self.template = 0
        self.textarea: list[str] | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "iku-editor":
            self.inside = True
        if not self.inside:
            return
        if tag == "template":
            self.template += 1
        if self.template:
            return
        if tag == "input" and "name" in attrs:
            self.fields.append([attrs["name"], attrs.get("value", "")])
        elif tag == "textarea":
            self.textarea = [attrs["name"], ""]
            self.fields.append(self.textarea)
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields.append([self.select, attrs["value"]])

    def handle_endtag(self, tag):
        if tag == "template":
            self.template -= 1
        elif tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


def editor_fields(page: str) -> list[list[str]]:
    parser = EditorForm()
    parser.feed(page)
    return parser.fields


def open_editor(client, dossier) -> list[list[str]]:
    page = client.get(f"/admin/dossier/details/?id={dossier.id}")
    assert page.status_code == 200
    fields = editor_fields(page.text)
    assert fields, "no IKU editor on the page"
    return fields


def save(client, dossier, fields, status: int = 303):
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    data.pop("csrf_token", None)
    response = post(client, f"/admin/dossier/iku/?id={dossier.id}", data)
    assert response.status_code == status, flashes(response.text)
    return response


def indicator_fields(key: str, name: str, *, targets=("900", "950", "1.000", "1.050", "1.100"),
                     unit="Persen", complete=True) -> list[list[str]]:  # fmt: skip
    """The fields of one indicator row, as typed."""
    fields = [
        ["row", key],
        [f"{key}-name", name],
        [f"{key}-definition", "Jumlah realisasi / target x 100%" if complete else ""],
        [f"{key}-unit", unit],
        [f"{key}-polarity", "max"],
        [f"{key}-baseline", "85" if complete else ""],
    ]
    fields += [[f"{key}-t{year}", value] for year, value in zip(YEARS, targets, strict=True)]
    fields += [
        [f"{key}-data_source", "LKPM" if complete else ""],
        [f"{key}-responsible", "Kepala Bidang Promosi" if complete else ""],
    ]
    return fields


def header(fields) -> list[list[str]]:
    """The form's own fields (token, version)."""
    return [f for f in fields if f[0] in ("csrf_token", "version")]


def stored(db, dossier_id: int) -> list[tuple]:
    """The dossier's IKU as (objective, [(indicator, unit, order, {year: target})])."""
    db.session.expire_all()
    objectives = iku_content.load(db.session, db.session.get(Dossier, dossier_id))
    result = [
        (o.name, o.order,
         [(i.name, i.unit, i.order, {t.year: t.target for t in i.targets}) for i in o.indicators])
        for o in objectives
    ]  # fmt: skip
    db.session.rollback()
    return result


@pytest.fixture
def at_step_3(db, people):
    """A dossier waiting for the SAKIP team to draft its IKU (step 3), still empty."""
    return advance(make_dossier("IKU Sekretariat 2026–2030"), people, 3)


# --- saving -------------------------------------------------------------------------------------


def test_one_save_creates_objectives_indicators_and_targets_as_typed(app, db, client, at_step_3):
    login(client, "timsakip")
    fields = open_editor(client, at_step_3)
    version = at_step_3.version
    typed = [*header(fields), ["row", "onew1"], ["onew1-name", "Meningkatnya investasi"]]
    typed += indicator_fields("inew2", "Nilai investasi", targets=("88,5", "1.150", "1.150,25",
                                                                 "0,75", "-3"))  # fmt: skip
    typed += indicator_fields("inew3", "Jumlah investor")
    typed += [["row", "onew4"], ["onew4-name", "Meningkatnya kualitas pelayanan"]]
    typed += indicator_fields("inew5", "Indeks kepuasan masyarakat", unit="indeks")
    response = save(client, at_step_3, typed)
    assert response.headers["Location"].endswith(f"/admin/dossier/details/?id={at_step_3.id}#iku")
    assert shown(app, "The IKU was saved.") in flashes(
        client.get(response.headers["Location"]).text
    )

    iku = stored(db, at_step_3.id)
    assert [(name, order) for name, order, _ in iku] == [
        ("Meningkatnya investasi", 1), ("Meningkatnya kualitas pelayanan", 2)]  # fmt: skip
    first = iku[0][2][0]
    assert first[:3] == ("Nilai investasi", "Persen", 1)
    assert first[3] == dict(zip(YEARS, map(Decimal, ["88.5", "1150", "1150.25", "0.75", "-3"]),
                                strict=True))  # fmt: skip
    assert iku[0][2][1][:3] == ("Jumlah investor", "Persen", 2)
    assert iku[1][2][0][:3] == ("Indeks kepuasan masyarakat", "Indeks", 1)  # the list's spelling
    assert db.session.get(Dossier, at_step_3.id).version > version
    # What the check of step 3 wants is there: the step can be finished.
    assert workflow.missing_inputs(at_step_3, at_step_3.current_step) == []


def test_one_save_updates_deletes_moves_and_reorders(app, db, client, people):
    dossier = fill_iku(make_dossier(), indicators=3)
    second = StrategicObjective(name="Meningkatnya pelayanan", order=2)
    dossier.objectives.append(second)
    db.session.commit()
    advance(dossier, people, 3)
    objective, (one, two, three) = dossier.objectives[0], dossier.objectives[0].indicators
    login(client, "staf")
    fields = open_editor(client, dossier)
    values = dict((name, value) for name, value in fields if name != "row")

    def row(indicator, **changes):
        key = f"i{indicator.id}"
        mine = [[n, v] for n, v in fields if n.startswith(f"{key}-")]
        return [["row", key]] + [[n, changes.get(n.removeprefix(f"{key}-"), v)] for n, v in mine]

    # The second objective first, holding indicator three; indicator two deleted; indicator
    # one renamed with its 2027 target changed and its 2030 target emptied.
    typed = header(fields)
    typed += [["row", f"o{second.id}"], [f"o{second.id}-name", values[f"o{second.id}-name"]]]
    typed += row(three)
    typed += [
        ["row", f"o{objective.id}"],
        [f"o{objective.id}-name", "Meningkatnya investasi daerah"],
    ]
    typed += row(one, name="Nilai realisasi investasi", t2027="1.234,5", t2030="")
    save(client, dossier, typed)

    iku = stored(db, dossier.id)
    assert [(name, order) for name, order, _ in iku] == [
        ("Meningkatnya pelayanan", 1), ("Meningkatnya investasi daerah", 2)]  # fmt: skip
    assert [(i[0], i[2]) for i in iku[0][2]] == [("Nilai investasi 3", 1)]
    assert [(i[0], i[2]) for i in iku[1][2]] == [("Nilai realisasi investasi", 1)]
    targets = iku[1][2][0][3]
    assert targets[2027] == Decimal("1234.5") and 2030 not in targets
    assert targets[2026] == one_target(2026)
    assert db.session.get(Indicator, two.id) is None
    assert (
        db.session.scalars(
            select(IndicatorTarget).where(IndicatorTarget.indicator_id == two.id)
        ).all()
        == []
    )


def one_target(year: int) -> Decimal:
    """What ``fill_iku`` stores for a year."""
    return Decimal(900 + year % 10)


def test_saving_the_page_unchanged_writes_nothing(app, db, client, people):
    dossier = advance(fill_iku(make_dossier(), indicators=2), people, 3)
    version, before = dossier.version, content(db)
    login(client, "timsakip")
    response = save(client, dossier, open_editor(client, dossier))
    assert shown(app, "Nothing to save: the IKU is as stored.") in flashes(
        client.get(response.headers["Location"]).text
    )
    assert content(db) == before
    assert db.session.get(Dossier, dossier.id).version == version


def test_new_rows_left_blank_are_left_out(app, db, client, at_step_3):
    login(client, "timsakip")
    fields = open_editor(client, at_step_3)  # an empty IKU starts with one blank row of each
    assert [v for n, v in fields if n == "row"] == ["onew1", "inew2"]
    typed = [*header(fields), ["row", "onew1"], ["onew1-name", "Sasaran"]]
    typed += [*indicator_fields("inew2", "Indikator"), ["row", "onew3"], ["onew3-name", " "]]
    blank = indicator_fields("inew4", "", targets=("",) * 5, unit="", complete=False)
    typed += [[n, "  " if n == "inew4-definition" else v] for n, v in blank]
    save(client, at_step_3, typed)
    assert [name for name, _order, _rows in stored(db, at_step_3.id)] == ["Sasaran"]


# --- refusals -----------------------------------------------------------------------------------


def test_bad_numbers_and_values_get_a_message_next_to_the_field_and_nothing_is_saved(
    app, db, client, at_step_3
):
    login(client, "timsakip")
    fields = open_editor(client, at_step_3)
    before = content(db)
    typed = [*header(fields), ["row", "onew1"], ["onew1-name", "Sasaran"]]
    typed += indicator_fields("inew2", "", targets=("88.5", "1.15", "abc", "1,2,3", "88,555"),
                              unit="Kilogram")  # fmt: skip
    response = save(client, at_step_3, typed, status=422)
    assert content(db) == before
    page = html.unescape(response.text)
    assert shown(app, "The IKU was not saved: correct the fields marked below.") in flashes(page)

    def message(name: str) -> str:
        found = re.search(rf'<div class="invalid-feedback d-block" id="{name}-error">(.*?)</div>',
                          page)  # fmt: skip
        assert found, f"no message next to {name}"
        assert re.search(rf'id="{name}"[^>]*aria-describedby="{name}-error"', page)
        return found.group(1)

    assert message("inew2-name") == shown(app, "This field is required.")
    assert message("inew2-unit") == shown(app, "Unknown unit: choose one from the list.")
    for year in (2026, 2027, 2028, 2029):
        assert "1.234,5" in message(f"inew2-t{year}")  # how to write it
    assert message("inew2-t2030") == shown(app, "Enter at most %(places)s decimals.", places=2)
    # What was typed is shown again, as typed.
    again = dict(editor_fields(response.text))
    assert [again[f"inew2-t{y}"] for y in YEARS] == ["88.5", "1.15", "abc", "1,2,3", "88,555"]
    assert again["onew1-name"] == "Sasaran" and again["inew2-unit"] == "Kilogram"


def test_a_stale_page_is_refused_and_keeps_what_was_typed(app, db, client, people):
    dossier = advance(fill_iku(make_dossier()), people, 3)
    login(client, "timsakip")
    fields = open_editor(client, dossier)
    # Meanwhile someone else changes the IKU (on its screens, say).
    indicator = db.session.get(Dossier, dossier.id).objectives[0].indicators[0]
    indicator.baseline = "900"
    db.session.commit()
    before = content(db)
    key = f"i{indicator.id}"
    typed = [[n, "Nilai investasi daerah" if n == f"{key}-name" else v] for n, v in fields]
    response = save(client, dossier, typed, status=409)
    assert content(db) == before
    assert shown(app, STALE) in html.unescape(flashes(response.text))
    again = editor_fields(response.text)
    assert dict(again)[f"{key}-name"] == "Nilai investasi daerah"
    # The page now carries the current version: saving it again is a deliberate choice.
    assert dict(again)["version"] == str(db.session.get(Dossier, dossier.id).version)
    save(client, dossier, again)
    assert stored(db, dossier.id)[0][2][0][0] == "Nilai investasi daerah"


def test_a_change_committed_during_the_save_fails_all_of_it(app, db, people):
    dossier = advance(fill_iku(make_dossier()), people, 3)
    before = content(db)
    dossier = db.session.get(Dossier, dossier.id)
    grid = iku_content.rows_of(dossier, iku_content.load(db.session, dossier), check=False)
    grid[0].name = "Diubah"
    # Someone else's save lands between the version check and the write.
    db.session.execute(
        update(Dossier).where(Dossier.id == dossier.id).values(version=Dossier.version + 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    with app.test_request_context(), pytest.raises(iku_content.GridStale):
        iku_content.save(db.session, dossier, dossier.version, grid)
    assert content(db) == before


@pytest.mark.parametrize("until", [6, DONE], ids=["approved", "done"])
def test_a_locked_dossier_is_refused_for_every_role(app, db, client, people, until):
    dossier = advance(fill_iku(make_dossier()), people, until)
    before = content(db)
    for username in people:
        login(client, username)
        page = client.get(f"/admin/dossier/details/?id={dossier.id}")
        assert editor_fields(page.text) == []  # the read-only table
        assert "iku_editor.js" not in page.text
        key = f"o{dossier.objectives[0].id}"
        typed = [["version", str(dossier.version)], ["row", key], [f"{key}-name", "Diubah"]]
        response = save(client, dossier, typed, status=409 if username in WRITERS else 403)
        if username in WRITERS:
            assert flashes(response.text)
        post(client, "/logout")
    assert content(db) == before


@pytest.mark.parametrize("username", ["kadis", "sekretaris", "perencana", "admin"])
def test_a_user_who_cannot_write_the_iku_sees_the_table_and_is_refused(
    app, db, client, at_step_3, username
):
    login(client, username)
    page = client.get(f"/admin/dossier/details/?id={at_step_3.id}")
    assert editor_fields(page.text) == [] and "iku-table" in page.text
    typed = [["version", str(at_step_3.version)], ["row", "onew1"], ["onew1-name", "Sasaran"]]
    save(client, at_step_3, typed, status=403)
    assert stored(db, at_step_3.id) == []


@pytest.mark.parametrize(
    "rows",
    [["inew1"], ["onew1", "onew1"], ["o1x"], ["x"], ["onew1", "i" + "9" * 13]],
    ids=["indicator first", "twice", "bad key", "unknown kind", "too long"],
)
def test_a_grid_no_page_sends_is_refused_with_400(app, db, client, at_step_3, rows):
    login(client, "timsakip")
    typed = [["version", str(at_step_3.version)]] + [["row", key] for key in rows]
    save(client, at_step_3, typed, status=400)


@pytest.mark.parametrize("version", ["", "x", "-1"])
def test_a_missing_or_bad_version_is_refused_with_400(app, db, client, at_step_3, version):
    login(client, "timsakip")
    save(client, at_step_3, [["version", version], ["row", "onew1"]], status=400)


def test_the_save_needs_a_csrf_token(app, db, client, at_step_3):
    login(client, "timsakip")
    response = client.post(
        f"/admin/dossier/iku/?id={at_step_3.id}", data={"version": at_step_3.version}
    )
    assert response.status_code == 400


# --- what the page shows ------------------------------------------------------------------------


def test_the_editor_says_what_step_3_still_misses_next_to_the_rows(app, db, client, at_step_3):
    login(client, "timsakip")
    page = html.unescape(client.get(f"/admin/dossier/details/?id={at_step_3.id}").text)
    step = at_step_3.current_step
    assert (
        shown(
            app,
            "Step %(n)s (%(activity)s) still needs: %(missing)s.",
            n=3,
            activity=step.activity,
            missing=shown(app, "at least one indicator"),
        )
        in page
    )

    typed = [*header(open_editor(client, at_step_3)), ["row", "onew1"], ["onew1-name", "Sasaran"]]
    typed += indicator_fields("inew2", "Lengkap")
    typed += indicator_fields("inew3", "Belum lengkap", unit="",
                              targets=("1", "", "3", "", "5"))  # fmt: skip
    save(client, at_step_3, typed)
    page = client.get(f"/admin/dossier/details/?id={at_step_3.id}").text
    lacking = db.session.scalar(select(Indicator.id).where(Indicator.name == "Belum lengkap"))
    row = re.search(rf'<tr class="iku-indicator" data-key="i{lacking}">.*?</tr>', page, re.S)[0]
    hint = html.unescape(re.search(r'<small class="iku-gap">(.*?)</small>', row)[1])
    assert shown(app, "unit") in hint
    assert shown(app, "targets for %(years)s", years="2027, 2029") in hint
    assert re.search(rf'class="[^"]*iku-missing[^"]*" id="i{lacking}-unit"', row)
    assert re.search(rf'class="[^"]*iku-missing[^"]*" id="i{lacking}-t2027"', row)
    assert not re.search(rf'iku-missing[^"]*" id="i{lacking}-t2026"', row)
    complete = re.search(r'<tr class="iku-indicator" data-key="i\d+">.*?</tr>', page, re.S)[0]
    assert "iku-gap" not in complete and "iku-missing" not in complete
    assert shown(app, "Still missing") in html.unescape(page)


def test_staf_edits_the_iku_at_step_4(app, db, client, people):
    dossier = advance(fill_iku(make_dossier()), people, 4)
    login(client, "staf")
    fields = open_editor(client, dossier)
    key = f"o{dossier.objectives[0].id}-name"
    save(client, dossier, [[n, "Sasaran diketik ulang" if n == key else v] for n, v in fields])
    assert stored(db, dossier.id)[0][0] == "Sasaran diketik ulang"


def test_a_definitions_line_breaks_are_stored_as_the_page_shows_them(app, db, client, at_step_3):
    login(client, "timsakip")
    typed = [*header(open_editor(client, at_step_3)), ["row", "onew1"], ["onew1-name", "Sasaran"]]
    typed += [[n, "Baris satu\r\nbaris dua" if n == "inew2-definition" else v]
              for n, v in indicator_fields("inew2", "Indikator")]  # fmt: skip
    save(client, at_step_3, typed)
    assert db.session.scalar(select(Indicator.definition)) == "Baris satu\nbaris dua"
    # The page saved again as a browser posts it (CRLF) changes nothing.
    fields = open_editor(client, at_step_3)
    version = db.session.get(Dossier, at_step_3.id).version
    save(client, at_step_3, [[n, v.replace("\n", "\r\n")] for n, v in fields])
    db.session.expire_all()
    assert db.session.get(Dossier, at_step_3.id).version == version
