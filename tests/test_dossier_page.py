"""The dossier page starts with where the dossier stands: its step, the buttons labelled with
the step's own verb, what the step still needs (typed in right there at step 9), the latest
return; "Tugas Saya" marks returned and overdue work; a bulk action names what it did."""

from __future__ import annotations

import re

import pytest
from conftest import flashes, login, make_dossier, post
from sqlalchemy import select
from test_workflow import ACTORS, advance, english, snapshot  # noqa: F401 (autouse)
from test_workflow_bulk import insert_dossiers, listed_rows, run
from test_workflow_web import act_as, buttons, press

from iku_admin.extensions import db as _db
from models import Dossier, SopStep, StepRecord

AGENDA = "050/045/DPMPTSP/2026"
DISTRIBUTION = "Bappeda, Inspektorat, BPKAD (buku ekspedisi)"


def details(client, dossier_id: int) -> str:
    page = client.get(f"/admin/dossier/details/?id={dossier_id}")
    assert page.status_code == 200
    return page.text


def button_texts(html: str) -> list[str]:
    return re.findall(r'<form method="post"[^>]*workflow-form.*?<button[^>]*>(.*?)</button>',
                      html, re.S)  # fmt: skip


def step(db, position: int) -> SopStep:
    return db.session.scalar(select(SopStep).where(SopStep.position == position))


# --- buttons labelled by the step ----------------------------------------------------------------


def test_the_button_says_the_steps_own_verb_and_follows_the_step_data(db, client, people):
    dossier = make_dossier()
    act_as(client, "kadis")
    assert button_texts(details(client, dossier.id)) == ["Beri Perintah"]
    step(db, 1).action_label = "Disposisikan"
    db.session.commit()
    assert button_texts(details(client, dossier.id)) == ["Disposisikan"]
    step(db, 1).action_label = ""
    db.session.commit()
    assert button_texts(details(client, dossier.id)) == ["Complete step"]  # the generic label


def test_a_review_keeps_approve_and_return(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    act_as(client, "sekretaris")
    assert button_texts(details(client, dossier.id)) == ["Approve", "Return for revision"]


def test_the_buttons_come_before_the_chart_and_the_tables(db, client, people):
    dossier = make_dossier()
    act_as(client, "kadis")
    html = details(client, dossier.id)
    order = [html.index(mark) for mark in ('class="workflow-form', 'class="sop-chart',
                                           '<h3 class="h6">Incoming letter',
                                           '<h3 class="h6">Step history')]  # fmt: skip
    assert order == sorted(order)


# --- inputs at the step that needs them -----------------------------------------------------------


def test_step_9_asks_for_the_outgoing_letter_and_finishes_in_one_submit(db, client, people):
    dossier = advance(make_dossier(), people, 9)
    act_as(client, "staf")
    html = details(client, dossier.id)
    assert 'name="outgoing_agenda_number"' in html and 'name="distribution_record"' in html
    assert "Outgoing letter agenda number" in html  # the dossier screen's own label
    url, version = buttons(html)["complete"]
    response = post(client, url, {"action": "complete", "version": version, "note": "Selesai",
                                  "outgoing_agenda_number": f"  {AGENDA} ",
                                  "distribution_record": DISTRIBUTION})  # fmt: skip
    assert response.status_code == 303, flashes(response.text)
    db.session.expire_all()
    done = db.session.get(Dossier, dossier.id)
    assert (done.status, done.outgoing_agenda_number, done.distribution_record) == (
        "done", AGENDA, DISTRIBUTION)  # fmt: skip


def test_a_refused_step_9_keeps_what_was_typed_and_saves_nothing(db, client, people):
    dossier = advance(make_dossier(), people, 9)
    before = snapshot(db, dossier)
    act_as(client, "staf")
    url, version = buttons(details(client, dossier.id))["complete"]
    response = post(client, url, {"action": "complete", "version": version, "note": "Catatan",
                                  "outgoing_agenda_number": AGENDA,
                                  "distribution_record": "  "})  # fmt: skip
    assert response.status_code == 409
    assert "Incomplete: distribution record" in flashes(response.text)
    assert f'value="{AGENDA}"' in response.text  # what was typed is still there
    assert ">Catatan</textarea>" in response.text
    assert snapshot(db, dossier) == before
    assert db.session.get(Dossier, dossier.id).outgoing_agenda_number == ""  # not half-saved


def test_step_9_from_a_stale_page_is_refused_and_saves_nothing(db, client, people):
    dossier = advance(make_dossier(), people, 9)
    act_as(client, "staf")
    url, version = buttons(details(client, dossier.id))["complete"]
    dossier.letter_sender = "Bappeda Provinsi"  # someone else edits the dossier meanwhile
    db.session.commit()
    before = snapshot(db, dossier)
    response = post(client, url, {"action": "complete", "version": version,
                                  "outgoing_agenda_number": AGENDA,
                                  "distribution_record": DISTRIBUTION})  # fmt: skip
    assert response.status_code == 409
    assert "Reload the page" in flashes(response.text)
    assert snapshot(db, dossier) == before
    assert db.session.get(Dossier, dossier.id).outgoing_agenda_number == ""


def test_step_9_with_a_too_long_agenda_number_is_refused_with_4xx(db, client, people):
    dossier = advance(make_dossier(), people, 9)
    act_as(client, "staf")
    url, version = buttons(details(client, dossier.id))["complete"]
    response = post(client, url, {"action": "complete", "version": version,
                                  "outgoing_agenda_number": "9" * 101,
                                  "distribution_record": DISTRIBUTION})  # fmt: skip
    assert response.status_code == 409
    assert "at most 100 characters" in flashes(response.text)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).status == "in_progress"


def test_fields_of_another_step_are_ignored(db, client, people):
    dossier = make_dossier()
    act_as(client, "kadis")
    url, version = buttons(details(client, dossier.id))["complete"]
    response = post(client, url, {"action": "complete", "version": version,
                                  "outgoing_agenda_number": AGENDA})  # fmt: skip
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).outgoing_agenda_number == ""


@pytest.mark.parametrize("position", [3, 4])
def test_the_iku_steps_link_to_the_editor_and_list_what_is_missing(db, client, people, position):
    dossier = advance(make_dossier(), people, position)
    if position == 4:  # step 3 filled the content; leave an indicator without its unit
        indicator = dossier.objectives[0].indicators[0]
        indicator.unit = ""
        db.session.commit()
    act_as(client, ACTORS[position])
    html = details(client, dossier.id)
    assert 'href="#iku-editor"' in html
    missing = re.search(r'<ul class="[^"]*missing">(.*?)</ul>', html, re.S).group(1)
    expected = "at least one indicator" if position == 3 else "Nilai investasi 1: unit"
    assert expected in missing
    # someone who cannot act is not sent to the editor
    act_as(client, "kadis")
    assert 'href="#iku-editor"' not in details(client, dossier.id)


# --- the latest return ---------------------------------------------------------------------------


def _returned(people, reason: str = "Target 2027 belum sesuai Renstra") -> Dossier:
    from iku_admin import workflow

    dossier = advance(make_dossier("Berkas revisi"), people, 5)
    workflow.return_for_revision(dossier, people["sekretaris"], reason)
    return dossier


def test_the_return_reason_heads_the_page(db, client, people):
    dossier = _returned(people)
    act_as(client, "staf")
    html = details(client, dossier.id)
    note = re.search(r'<div class="alert alert-warning[^"]*return-note".*?</div>', html, re.S)
    assert note, "no return note"
    assert "Target 2027 belum sesuai Renstra" in note.group(0)
    assert "Sekretaris" in note.group(0)  # who
    assert html.index("return-note") < html.index('class="workflow-form')
    # once handed on again it is no longer waiting, but still told
    press(client, dossier.id, "complete")
    html = details(client, dossier.id)
    assert "alert-warning" not in html and "Latest return for revision" in html


def test_my_tasks_marks_returned_work_with_its_reason(db, client, people):
    dossier = _returned(people)
    other = advance(make_dossier("Berkas biasa"), people, 4)
    act_as(client, "staf")
    html = client.get("/admin/").text
    rows = {int(n): row for n, row in re.findall(r'id="task-(\d+)">(.*?)</tr>', html, re.S)}
    assert "Target 2027 belum sesuai Renstra" in rows[dossier.id]
    assert "Returned for revision" in rows[dossier.id]
    assert "Returned for revision" not in rows[other.id]
    press(client, dossier.id, "complete")  # the typist hands it on: no longer marked
    assert "Returned for revision" not in client.get("/admin/").text


def test_my_tasks_offers_registering_a_letter_to_who_may_register(db, client, people):
    act_as(client, "staf")
    html = client.get("/admin/").text
    link = re.search(r'<a class="[^"]*register-letter" href="([^"]+)"', html)
    assert link and link.group(1).startswith("/admin/dossier/new/")
    assert client.get(link.group(1)).status_code == 200
    for who in ("kadis", "timsakip", "perencana", "admin"):
        act_as(client, who)
        assert "register-letter" not in client.get("/admin/").text, who


# --- bulk result ---------------------------------------------------------------------------------


def test_bulk_result_names_the_dossiers_processed(db, client, people):
    ids = insert_dossiers(db, 3, 1)
    _db.session.get(Dossier, ids[0]).title = "Judul yang sangat panjang " * 4
    _db.session.commit()
    login(client, "kadis")
    response = run(client, "complete", listed_rows(client).values())
    message = flashes(client.get(response.headers["Location"]).text)
    assert f"3 dossier(s) processed: #{ids[0]} Judul yang sangat panjang" in message
    assert "…" in message and f"#{ids[1]} Berkas {ids[1]}" in message
    assert f"#{ids[2]} Berkas {ids[2]}." in message


def test_a_long_bulk_result_is_cut(db, client, people):
    ids = insert_dossiers(db, 15, 1)
    login(client, "kadis")
    response = run(client, "complete", listed_rows(client).values())
    message = flashes(client.get(response.headers["Location"]).text)
    assert "15 dossier(s) processed:" in message and "and 5 more" in message
    assert f"#{ids[9]} " in message and f"#{ids[10]} " not in message
    assert _db.session.query(StepRecord).count() == 15
