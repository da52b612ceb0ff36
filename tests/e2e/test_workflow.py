"""The SOP in the browser: five people take a new dossier from the incoming letter to done,
each from "Tugas Saya" to the dossier page, whose buttons are in view without scrolling."""

from __future__ import annotations

from sqlalchemy import select

from models import Dossier, StepRecord

from . import texts

YEARS = range(2026, 2031)
FOLD = 768  # the height of the browser window (tests/e2e/browser.py)


def save(person, button: str = "input[type=submit]:not([name])") -> int:
    """Press a Flask-Admin form's Save button; return the response status."""
    return person.click(f"form.admin-form {button}").status


def open_from_my_tasks(person, dossier_id: int) -> None:
    """Go to "Tugas Saya" and open the dossier from there, as its next actor would."""
    person.goto("/admin/")
    person.click(f"main a[href$='/admin/dossier/details/?id={dossier_id}']")


def test_five_people_take_a_new_dossier_from_letter_to_done_with_one_return(
    app, db, people, open_as
):
    staf, kadis, sekretaris, timsakip, perencana = (
        open_as(name) for name in ("staf", "kadis", "sekretaris", "timsakip", "perencana")
    )
    for person in (staf, kadis, sekretaris, timsakip, perencana):
        person.clicks = 0  # count from here: the logins are not part of the work

    # Staf registers the incoming letter as a new dossier, from "Tugas Saya".
    staf.goto("/admin/")
    staf.click("a.register-letter")
    form = {
        "title": "IKU DPMPTSP 2026–2030", "period_start": "2026", "period_end": "2030",
        "letter_number": "050/017/BAPPEDA/2026", "letter_date": "2026-01-06",
        "letter_sender": "Bappeda Kabupaten Tanjung Jabung Barat",
        "letter_subject": "Penyusunan IKU Perangkat Daerah",
    }  # fmt: skip
    for name, value in form.items():
        staf.page.fill(f"#{name}", value)
    assert save(staf) == 200
    dossier_id = db.session.scalar(select(Dossier.id).where(Dossier.title == form["title"]))
    assert dossier_id is not None

    def act(person, action: str, note: str = "", status: int = 200, **fields: str) -> str:
        """Open the dossier from "Tugas Saya", type, press the action's button; return the
        button's label."""
        open_from_my_tasks(person, dossier_id)
        button = person.page.locator(person.workflow_button(action))
        box = button.bounding_box()
        assert box["y"] + box["height"] < FOLD, f"{action} button below the fold: {box}"
        label = button.inner_text().strip()
        for name, value in fields.items():
            person.page.fill(f"#step-{name}", value)
        if note:
            person.page.fill(f"#note-{action}", note)
        asked = len(person.dialogs)
        response = person.click(person.workflow_button(action))
        assert response.status == status, person.flash_text()
        assert [kind for kind, _text in person.dialogs[asked:]] == ["confirm"]
        return label

    # Steps 1 and 2: the head of the agency, then the secretary, give their dispositions.
    assert act(kadis, "complete", "Segera susun IKU 2026–2030") == "Beri Perintah"
    assert texts.step_recorded(app, 1) in kadis.flash_text()
    # The secretary does it with the keyboard only: note, Tab to the button, Enter.
    open_from_my_tasks(sekretaris, dossier_id)
    sekretaris.page.focus("#note-complete")
    sekretaris.page.keyboard.type("Tim SAKIP menyusun konsep")
    sekretaris.page.keyboard.press("Tab")
    assert sekretaris.page.evaluate(
        "document.activeElement.matches('form.workflow-form button[type=submit]')"
    )
    sekretaris.press("Enter")
    assert texts.step_recorded(app, 2) in sekretaris.flash_text()

    # Step 3: the SAKIP team cannot finish without the IKU, then enters it through the forms.
    act(timsakip, "complete", status=409)
    assert texts.no_iku_yet(app) in timsakip.flash_text()
    assert timsakip.page.locator("a.iku-editor-link[href='#iku-editor']").count() == 1
    timsakip.menu("/admin/objective/")
    timsakip.click("a.nav-link[href^='/admin/objective/new/']")
    timsakip.choose("dossier", form["title"][:10])
    timsakip.page.fill("#order", "1")
    timsakip.page.fill("#name", "Meningkatnya realisasi investasi daerah")
    assert save(timsakip) == 200
    timsakip.goto("/admin/indicator/new/")
    timsakip.choose("objective", "realisasi investasi")
    indicator = {
        "order": "1", "name": "Nilai realisasi investasi PMA dan PMDN",
        "definition": "Jumlah realisasi investasi PMA dan PMDN menurut LKPM",
        "baseline": "850", "data_source": "Laporan LKPM (OSS RBA)",
        "responsible": "Kepala Bidang Promosi Penanaman Modal",
    }  # fmt: skip
    for name, value in indicator.items():
        timsakip.page.fill(f"#{name}", value)
    timsakip.page.select_option("#unit", "Miliar Rupiah")
    assert save(timsakip) == 200
    # The yearly targets, one after another ("Save and Add Another").
    timsakip.goto("/admin/target/new/")
    for n, year in enumerate(YEARS):
        timsakip.choose("indicator", "PMA dan PMDN")
        timsakip.page.fill("#year", str(year))
        timsakip.page.fill("#target", str(900 + 50 * n))
        assert save(timsakip, "input[name=_add_another]") == 200
    act(timsakip, "complete", "Konsep IKU selesai")

    # Step 4, then the review at step 5 returns it once, with a reason.
    act(staf, "complete", "Konsep diketik")
    act(sekretaris, "return", "Target 2027 belum sesuai Renstra")
    assert sekretaris.page.locator("ol.timeline li.returned").count() == 1
    # The typist sees the returned work marked in "Tugas Saya", with its reason, and on top of
    # the dossier page.
    staf.goto("/admin/")
    row = staf.page.locator(f"tr#task-{dossier_id}")
    assert "Target 2027 belum sesuai Renstra" in row.locator(".returned-mark").inner_text()
    open_from_my_tasks(staf, dossier_id)
    assert "Target 2027 belum sesuai Renstra" in staf.page.locator(".return-note").inner_text()
    act(staf, "complete", "Target 2027 diperbaiki")
    act(sekretaris, "approve")
    act(perencana, "complete", "Paraf")
    act(kadis, "complete", "Ditandatangani")
    act(sekretaris, "complete", "Agendakan dan distribusikan")

    # Step 9 needs the outgoing letter's agenda number and the distribution record: typed in
    # on the dossier page, saved and finished with one press.
    label = act(staf, "complete", "Didistribusikan",
                outgoing_agenda_number="050/045/DPMPTSP/2026",
                distribution_record="Bappeda, Inspektorat, BPKAD (buku ekspedisi)")  # fmt: skip
    assert label == "Agendakan dan Distribusikan"
    assert texts.step_recorded(app, 9) in staf.flash_text()

    # Done: the history holds every step, the return with its reason, one revision round.
    page = staf.page
    assert page.locator("ol.timeline li").count() == 11
    assert page.locator("form.workflow-form").count() == 0
    assert "Target 2027 belum sesuai Renstra" in page.locator("ol.timeline").inner_text()
    db.session.remove()
    dossier = db.session.get(Dossier, dossier_id)
    assert (dossier.status, dossier.revision_round) == ("done", 1)
    records = db.session.scalars(
        select(StepRecord).where(StepRecord.dossier_id == dossier_id).order_by(StepRecord.id)
    ).all()
    assert [(r.position, r.outcome, r.user.username) for r in records] == [
        (1, "done", "kadis"), (2, "done", "sekretaris"), (3, "done", "timsakip"),
        (4, "done", "staf"), (5, "returned", "sekretaris"), (4, "done", "staf"),
        (5, "approved", "sekretaris"), (6, "done", "perencana"), (7, "done", "kadis"),
        (8, "done", "sekretaris"), (9, "done", "staf"),
    ]  # fmt: skip
    assert records[4].note == "Target 2027 belum sesuai Renstra"
    assert dossier.outgoing_agenda_number == "050/045/DPMPTSP/2026"
    everyone = (staf, kadis, sekretaris, timsakip, perencana)
    print(
        f"\nclicks from the letter to done: {sum(p.clicks for p in everyone)} "
        f"({', '.join(f'{p.username} {p.clicks}' for p in everyone)}; logins not counted)"
    )
    targets = {t.year: t.target for o in dossier.objectives for i in o.indicators
               for t in i.targets}  # fmt: skip
    assert sorted(targets) == list(YEARS)
