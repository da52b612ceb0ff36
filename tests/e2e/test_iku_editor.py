"""The IKU editor on the dossier page, in Chromium: typed with few clicks, pasted from a
spreadsheet, saved once; and the indicator form's inline "add yearly target" button."""

from __future__ import annotations

from decimal import Decimal

from conftest import make_dossier
from sqlalchemy import select

from iku_admin import iku_content
from models import Dossier, Indicator, IndicatorTarget, StrategicObjective

from .data import advance

YEARS = range(2026, 2031)
MAX_CLICKS = 40
SAVE = "#iku-editor button[type=submit]"
PASTE_JS = """([selector, text]) => {
  const field = document.querySelector(selector);
  field.focus();
  const data = new DataTransfer();
  data.setData('text/plain', text);
  field.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                   cancelable: true}));
}"""


def stored(db, dossier_id: int) -> list[tuple]:
    """(objective, [(indicator, definition, unit, polarity, baseline, data source,
    responsible, [target per year])]) in order."""
    db.session.expire_all()
    objectives = iku_content.load(db.session, db.session.get(Dossier, dossier_id))
    result = [
        (o.name, [(i.name, i.definition, i.unit, i.polarity, i.baseline, i.data_source,
                   i.responsible, [t.target for t in i.targets]) for i in o.indicators])
        for o in objectives
    ]  # fmt: skip
    db.session.rollback()
    return result


def at_step_3(people) -> Dossier:
    return advance(make_dossier("IKU Sekretariat 2026–2030"), people.values(), 3)


IKU = [
    ("Meningkatnya realisasi investasi daerah", [
        ("Nilai realisasi investasi PMA dan PMDN", "Jumlah realisasi investasi menurut LKPM",
         "Miliar Rupiah", "max", "850", "LKPM (OSS RBA)", "Kepala Bidang Promosi",
         ["900", "950", "1.000", "1.050", "1.150,25"]),
        ("Persentase perizinan terbit tepat waktu", "Izin tepat waktu / izin terbit x 100%",
         "Persen", "max", "85", "SiCantik Cloud", "Kepala Bidang Pelayanan",
         ["88,5", "90", "92", "94", "95"]),
    ]),
    ("Meningkatnya kualitas pelayanan publik", [
        ("Rata-rata waktu penyelesaian pengaduan", "Jumlah hari / jumlah pengaduan", "Hari",
         "min", "7", "Aplikasi SP4N-LAPOR!", "Kepala Bidang Pengaduan",
         ["6", "5", "4,5", "4", "3"]),
    ]),
]  # fmt: skip


def expected(iku) -> list[tuple]:
    def number(text: str) -> Decimal:
        return Decimal(text.replace(".", "").replace(",", "."))

    return [(name, [(*row[:7], [number(t) for t in row[7]]) for row in rows]) for name, rows in iku]


def test_tim_sakip_enters_the_iku_on_the_dossier_page_in_few_clicks(app, db, people, open_as):
    dossier = at_step_3(people)
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto(f"/admin/dossier/details/?id={dossier.id}")
    clicks = 0

    def click(selector: str) -> None:
        nonlocal clicks
        clicks += 1
        page.click(selector)

    def type_indicator(row) -> None:
        """From the focused indicator name on: type each cell, Tab to the next."""
        name, definition, unit, polarity, baseline, source, responsible, targets = row
        cells = [name, definition, unit, polarity, baseline, *targets, source, responsible]
        for n, value in enumerate(cells):
            if n:
                page.keyboard.press("Tab")
            if n == 3:  # the polarity list: "higher is better" first, the next one down
                if value == "min":
                    page.keyboard.press("ArrowDown")
            elif value:
                page.keyboard.type(value)

    blocks = "#iku-editor tbody.iku-block"
    for number, (objective, rows) in enumerate(IKU, start=1):
        block = f"{blocks}:nth-of-type({number})"
        if number == 1:  # an empty IKU starts with one blank objective and indicator
            click(f"{block} [data-col=objective]")
        else:
            click("#iku-editor [data-iku=add-objective]")  # focuses the new objective
        page.keyboard.type(objective)
        for m, row in enumerate(rows, start=1):
            if m == 1:
                click(f"{block} tr.iku-indicator [data-col=name]")
            else:
                click(f"{block} [data-iku=add-indicator]")  # focuses the new indicator
            type_indicator(row)
    assert page.locator(f"{blocks} tr.iku-indicator").count() == 3
    with page.expect_navigation():
        click(SAVE)
    timsakip.inspect()
    print(f"\nIKU editor: 2 objectives, 3 indicators, 15 targets entered and saved in {clicks} "
          f"clicks")  # fmt: skip
    assert clicks <= MAX_CLICKS

    assert stored(db, dossier.id) == expected(IKU)
    typed = select(IndicatorTarget.target).join(Indicator)
    typed = typed.where(Indicator.name.startswith("Persentase"), IndicatorTarget.year == 2026)
    assert db.session.scalar(typed) == Decimal("88.5")
    # Complete for step 3: the page says so, and marks nothing as missing.
    assert page.locator(".iku-check.alert-success").count() == 1
    assert page.locator(".iku-gap, .iku-missing").count() == 0


TABLE = (
    "Meningkatnya realisasi investasi daerah\tNilai realisasi investasi PMA dan PMDN\t"
    "Jumlah realisasi investasi menurut LKPM\tMiliar Rupiah\tmax\t850\t900\t950\t1.000\t1.050\t"
    "1.150,25\tLKPM (OSS RBA)\tKepala Bidang Promosi\r\n"
    '\tPersentase perizinan terbit tepat waktu\t"Izin tepat waktu\r\n/ izin terbit x 100%"\t'
    "persen\tmax\t85\t88,5\t90\t92\t94\t95\tSiCantik Cloud\tKepala Bidang Pelayanan\r\n"
    "Meningkatnya kualitas pelayanan publik\tRata-rata waktu penyelesaian pengaduan\t"
    "Jumlah hari / jumlah pengaduan\tHari\tMin\t7\t6\t5\t4,5\t4\t3\tAplikasi SP4N-LAPOR!\t"
    "Kepala Bidang Pengaduan\r\n"
)


def test_a_table_pasted_from_excel_fills_the_grid_for_review_then_saves(app, db, people, open_as):
    dossier = at_step_3(people)
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto(f"/admin/dossier/details/?id={dossier.id}")
    # The whole table, pasted into the first objective.
    page.evaluate(PASTE_JS, ["#iku-editor tr.iku-objective [data-col=objective]", TABLE])
    assert page.locator("#iku-editor tr.iku-objective").count() == 2
    assert page.locator("#iku-editor tr.iku-indicator").count() == 3
    second = page.locator("#iku-editor tr.iku-indicator").nth(1)
    definition = second.locator("[data-col=definition]").input_value()
    assert definition == "Izin tepat waktu\n/ izin terbit x 100%"
    assert second.locator("[data-col=t2026]").input_value() == "88,5"
    assert page.locator("#iku-editor tr.iku-indicator .iku-no").all_inner_texts() == [
        "1.1", "1.2", "2.1"]  # fmt: skip
    # A block of targets pasted into a cell fills from there on, that row and the next.
    page.evaluate(
        PASTE_JS, ["#iku-editor tr.iku-indicator [data-col=t2029]", "1.100\t1.200\n96\t97\n"]
    )
    with page.expect_navigation():
        page.click(SAVE)
    timsakip.inspect()

    iku = stored(db, dossier.id)
    assert [name for name, _rows in iku] == ["Meningkatnya realisasi investasi daerah",
                                             "Meningkatnya kualitas pelayanan publik"]  # fmt: skip
    first, percent = iku[0][1]
    assert first[7] == [Decimal(v) for v in ("900", "950", "1000", "1100", "1200")]
    assert percent[1] == "Izin tepat waktu\n/ izin terbit x 100%"
    assert percent[2] == "Persen"  # the unit as the list writes it
    assert percent[7] == [Decimal(v) for v in ("88.5", "90", "92", "96", "97")]
    assert iku[1][1][0][3] == "min"


def test_rows_move_and_go_before_one_save(app, db, people, open_as):
    dossier = at_step_3(people)
    objective = StrategicObjective(name="Sasaran A", order=1)
    for n in (1, 2, 3):
        objective.indicators.append(Indicator(name=f"Indikator {n}", order=n))
    dossier.objectives += [objective, StrategicObjective(name="Sasaran B", order=2)]
    db.session.commit()
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto(f"/admin/dossier/details/?id={dossier.id}")
    rows = "#iku-editor tr.iku-indicator"
    page.click(f"{rows}:has([value='Indikator 3']) [data-iku=up]")  # 3 above 2
    page.click(f"{rows}:has([value='Indikator 1']) [data-iku=remove]")
    block_b = "#iku-editor tbody.iku-block:nth-of-type(2)"
    page.click(f"{block_b} tr.iku-objective [data-iku=up]")  # B before A
    asked = len(timsakip.dialogs)
    with page.expect_navigation():
        page.click(SAVE)
    timsakip.inspect()
    # Deleting a stored row is asked first.
    assert [kind for kind, _text in timsakip.dialogs[asked:]] == ["confirm"]
    assert [(name, [r[0] for r in rows]) for name, rows in stored(db, dossier.id)] == [
        ("Sasaran B", []), ("Sasaran A", ["Indikator 3", "Indikator 2"])]  # fmt: skip


def test_the_indicator_forms_add_yearly_target_button_adds_one(app, db, people, open_as):
    dossier = at_step_3(people)
    indicator = Indicator(name="Indikator tanpa target", order=1)
    dossier.objectives.append(StrategicObjective(name="Sasaran", order=1, indicators=[indicator]))
    db.session.commit()
    timsakip = open_as("timsakip")
    page = timsakip.page
    timsakip.goto(f"/admin/indicator/edit/?id={indicator.id}")
    page.click("[data-inline-add=targets]")
    page.click("[data-inline-add=targets]")
    page.fill("#targets-0-year", "2026")
    page.fill("#targets-0-target", "88,5")
    page.fill("#targets-1-year", "2027")
    page.fill("#targets-1-target", "1.150")
    assert timsakip.click("form.admin-form input[type=submit]:not([name])").status == 200
    db.session.expire_all()
    assert {t.year: t.target for t in db.session.get(Indicator, indicator.id).targets} == {
        2026: Decimal("88.5"), 2027: Decimal("1150")}  # fmt: skip


def test_on_a_phone_the_grid_scrolls_in_its_box_not_the_page(app, db, people, open_as):
    dossier = at_step_3(people)
    timsakip = open_as("timsakip")
    page = timsakip.page
    page.set_viewport_size({"width": 390, "height": 844})
    timsakip.goto(f"/admin/dossier/details/?id={dossier.id}")
    box = page.locator("#iku-editor .iku-grid-box")
    sizes = box.evaluate("b => [b.scrollWidth, b.clientWidth, b.getBoundingClientRect().right]")
    assert sizes[0] > sizes[1] and sizes[2] <= 390  # the grid scrolls inside its box
    # The page is no wider for the editor (the grid's header included, whatever else of the
    # page may be wide).
    widths = page.evaluate("""() => {
      const page = () => document.documentElement.scrollWidth;
      const section = document.querySelector('#iku');
      const shown = page();
      section.style.display = 'none';
      const without = page();
      section.style.display = '';
      return [shown, without];
    }""")
    assert widths[0] == widths[1]


def test_a_save_after_someone_elses_keeps_what_was_typed(app, db, people, open_as):
    dossier = at_step_3(people)
    indicator = Indicator(name="Nilai investasi", order=1)
    dossier.objectives.append(StrategicObjective(name="Sasaran", order=1, indicators=[indicator]))
    db.session.commit()
    timsakip, staf = open_as("timsakip"), open_as("staf")
    for person in (timsakip, staf):
        person.goto(f"/admin/dossier/details/?id={dossier.id}")
    staf.page.fill(f"#i{indicator.id}-baseline", "850")
    with staf.page.expect_navigation():
        staf.page.click(SAVE)
    timsakip.page.fill(f"#i{indicator.id}-t2026", "88,5")
    with timsakip.page.expect_navigation() as navigation:
        timsakip.page.click(SAVE)
    assert navigation.value.status == 409
    assert timsakip.page.input_value(f"#i{indicator.id}-t2026") == "88,5"  # kept
    assert timsakip.page.locator("div.alert-danger").count() == 1
    db.session.expire_all()
    assert db.session.get(Indicator, indicator.id).targets == []
    # Saved again, deliberately: the page now carries the current version.
    with timsakip.page.expect_navigation() as navigation:
        timsakip.page.click(SAVE)
    assert navigation.value.status == 200  # after the redirect
    db.session.expire_all()
    assert [t.target for t in db.session.get(Indicator, indicator.id).targets] == [Decimal("88.5")]
