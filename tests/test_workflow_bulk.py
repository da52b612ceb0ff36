"""Bulk workflow actions from the dossier list's "with selected" menu."""

from __future__ import annotations

import re
import time
from datetime import date

from conftest import StatementCounter, flashes, login, make_dossier, post
from sqlalchemy import func, insert, select, update
from test_workflow import advance, english, snapshot  # noqa: F401 (autouse)

from iku_admin import mutu, workflow
from models import Dossier, Indicator, IndicatorTarget, StepRecord, StrategicObjective, utcnow


def insert_dossiers(db, count: int, position: int, **values) -> list[int]:
    """``count`` dossiers waiting at step ``position``, made with one INSERT."""
    sop = workflow.active_sop(db.session)
    step = next(s for s in sop.steps if s.position == position)
    now = utcnow()
    first = (db.session.scalar(select(func.max(Dossier.id))) or 0) + 1
    rows = [
        {
            "title": f"Berkas {n}", "period_start": 2026, "period_end": 2030,
            "letter_number": f"050/{n}/2026", "letter_date": date(2026, 1, 5),
            "letter_sender": "Bappeda", "letter_subject": "Penyusunan IKU", "sop_id": sop.id,
            "current_step_id": step.id, "status": "in_progress", "revision_round": 0,
            "outgoing_agenda_number": "", "distribution_record": "", "created_at": now,
            "step_started_at": now, "version": 1, **values,
        }
        for n in range(first, first + count)
    ]  # fmt: skip
    db.session.execute(insert(Dossier), rows)
    mutu.rebuild_totals(db.session.connection())  # these dossiers bypassed the workflow
    db.session.commit()
    return list(range(first, first + count))


def listed_rows(client, **filters) -> dict[int, str]:
    """The list page's checkboxes: id -> the "id:version" value they post."""
    html = client.get("/admin/dossier/", query_string={"page_size": 100, **filters}).text
    return {int(v.split(":")[0]): v for v in re.findall(r'name="rowid"[^>]*value="([^"]+)"', html)}


def run(client, action: str, rows, **extra):
    return post(client, "/admin/dossier/action/", {"action": action, "rowid": list(rows), **extra})


def history_count(db) -> int:
    return db.session.scalar(select(func.count(StepRecord.id)))


def test_the_list_offers_the_workflow_actions_and_posts_the_version_shown(db, client, people):
    dossier = advance(make_dossier(), people, 3)
    login(client, "perencana")  # may only read the screen, still gets the workflow actions
    html = client.get("/admin/dossier/").text
    for name in ("complete", "approve", "return_for_revision"):
        assert f'value="{name}"' in html or f"'{name}'" in html or f'"{name}"' in html, name
    assert '"delete"' not in html and "'delete'" not in html
    assert listed_rows(client) == {dossier.id: f"{dossier.id}:{dossier.version}"}


def test_secretary_bulk_approves_30_of_50_in_one_request(db, client, people):
    waiting = insert_dossiers(db, 30, 5)
    not_yours = insert_dossiers(db, 5, 4)  # staf's step
    wrong_step = insert_dossiers(db, 5, 2)  # the secretary's, but a task, not a review
    changed = insert_dossiers(db, 5, 5)  # moved on after the list was shown
    finished = insert_dossiers(db, 5, 9, status="done", current_step_id=None)
    login(client, "sekretaris")
    rows = listed_rows(client)
    assert len(rows) == 50
    db.session.execute(
        update(Dossier).where(Dossier.id.in_(changed)).values(version=Dossier.version + 1)
    )
    db.session.commit()
    before = history_count(db)

    started = time.perf_counter()
    response = run(client, "approve", rows.values())
    elapsed = time.perf_counter() - started
    print(f"\nbulk approval of 30 out of 50 dossiers: {elapsed * 1000:.0f} ms")
    assert response.status_code == 302
    assert elapsed < 5  # under a second on SQLite here; generous for slow machines

    db.session.expire_all()
    moved = db.session.scalars(
        select(Dossier.id).where(Dossier.current_step.has(position=6)).order_by(Dossier.id)
    ).all()
    assert moved == waiting
    assert history_count(db) == before + 30
    message = flashes(client.get(response.headers["Location"]).text)
    assert "30 dossier(s) processed: #" in message
    assert "20 dossier(s) skipped:" in message
    groups = dict(
        (reason.strip(), ids)
        for ids, reason in re.findall(r"<li>((?:#\d+(?:, )?)+): (.*?)</li>", message)
    )
    expected = {
        "The current step is 4": not_yours,
        "Step 2 is not a review": wrong_step,
        "Changed by someone else since you loaded it": changed,
        "The dossier is finished": finished,
    }
    for start, ids in expected.items():
        reason = next(r for r in groups if r.startswith(start))
        assert groups[reason] == ", ".join(f"#{i}" for i in ids), start


def test_bulk_complete_skips_an_incomplete_dossier_and_says_what_is_missing(db, client, people):
    ready = advance(make_dossier("Siap"), people, 9)
    ready.outgoing_agenda_number = "050/9/2026"
    ready.distribution_record = "Bappeda"
    db.session.commit()
    empty = insert_dossiers(db, 1, 9)[0]
    login(client, "staf")
    response = run(client, "complete", listed_rows(client).values())
    message = flashes(client.get(response.headers["Location"]).text)
    assert f"1 dossier(s) processed: #{ready.id} Siap." in message
    assert re.search(rf"#{empty}: Incomplete: outgoing letter agenda number; distribution record",
                     message)  # fmt: skip
    db.session.expire_all()
    assert db.session.get(Dossier, ready.id).status == "done"
    assert db.session.get(Dossier, empty).current_step.position == 9


def test_bulk_return_asks_for_one_reason_for_all(db, client, people):
    ids = [advance(make_dossier(f"Berkas {n}"), people, 5).id for n in range(3)]
    login(client, "sekretaris")
    rows = listed_rows(client)
    before = history_count(db)
    page = run(client, "return_for_revision", rows.values())
    assert page.status_code == 200 and 'name="reason"' in page.text
    assert sorted(re.findall(r'name="rowid" value="([^"]+)"', page.text)) == sorted(rows.values())
    assert history_count(db) == before  # nothing happens before the reason is given

    empty = run(client, "return_for_revision", rows.values(), reason="   ")
    assert empty.status_code == 400 and "A reason is required" in flashes(empty.text)
    assert history_count(db) == before

    response = run(client, "return_for_revision", rows.values(), reason="Format tabel keliru")
    assert response.status_code == 302
    db.session.expire_all()
    returned = db.session.scalars(select(Dossier).where(Dossier.id.in_(ids))).all()
    assert {(d.current_step.position, d.revision_round) for d in returned} == {(4, 1)}
    notes = db.session.scalars(select(StepRecord.note).where(StepRecord.outcome == "returned"))
    assert list(notes) == ["Format tabel keliru"] * 3


def test_a_list_row_that_changed_is_skipped_not_overwritten(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    login(client, "sekretaris")
    rows = listed_rows(client)
    workflow.return_for_revision(dossier, people["sekretaris"], "Perbaiki")  # in another tab
    advance(dossier, people, 5)
    before = snapshot(db, dossier)
    response = run(client, "approve", rows.values())
    message = flashes(client.get(response.headers["Location"]).text)
    assert "Already processed by Staf" in message  # the latest to move it
    assert snapshot(db, dossier) == before


def test_forged_bulk_actions_are_refused(db, client, people):
    dossier = make_dossier()
    before = snapshot(db, dossier)
    login(client, "staf")  # may write dossiers, may still not delete one
    for action in ("delete", "drop_all", ""):
        assert run(client, action, [f"{dossier.id}:1"]).status_code == 403, action
    for rowid in ("abc", "1:x", "-1", "1:2:3"):
        assert run(client, "complete", [rowid]).status_code == 400, rowid
    assert snapshot(db, dossier) == before


def test_a_reader_of_the_list_can_bulk_complete_its_own_step(db, client, people):
    ids = insert_dossiers(db, 3, 1)
    login(client, "kadis")
    response = run(client, "complete", [f"{i}:1" for i in ids])
    assert "3 dossier(s) processed: #" in flashes(client.get(response.headers["Location"]).text)


def _statements_for_bulk_approval(db, client, typist, count: int) -> int:
    ids = insert_dossiers(db, count, 5)
    # The record of step 4 for each, so the separation-of-duties check has history to read.
    step = workflow.active_sop(db.session).steps[3]
    db.session.execute(insert(StepRecord), [
        {"dossier_id": i, "dossier_version": 0, "step_id": step.id, "position": 4,
         "user_id": typist.id, "role_id": step.role_id, "outcome": "done", "note": "",
         "started_at": utcnow(), "sop_version": 1} for i in ids
    ])  # fmt: skip
    db.session.commit()
    rows = [f"{i}:1" for i in ids]
    with StatementCounter(db.engine) as counter:
        response = run(client, "approve", rows)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(
        select(func.count()).where(Dossier.id.in_(ids), Dossier.current_step.has(position=6))
    ) == count  # fmt: skip
    return counter.count


def test_bulk_approval_statements_do_not_grow_with_the_number_of_dossiers(db, client, people):
    login(client, "sekretaris")
    small = _statements_for_bulk_approval(db, client, people["staf"], 10)
    large = _statements_for_bulk_approval(db, client, people["staf"], 1000)
    print(f"\nSQL statements of a bulk approval: {small} for 10 dossiers, {large} for 1,000")
    assert small == large


def _statements_for_bulk_completion_at_step_4(db, client, count: int) -> int:
    """Step 4 checks the IKU content (Kelengkapan) of every dossier it completes."""
    ids = insert_dossiers(db, count, 4)
    db.session.execute(insert(StrategicObjective), [
        {"id": i, "dossier_id": i, "name": "Meningkatnya investasi", "order": 1} for i in ids
    ])  # fmt: skip
    db.session.execute(insert(Indicator), [
        {"id": i, "objective_id": i, "name": f"Nilai investasi {i}", "definition": "PMA+PMDN",
         "unit": "Persen", "data_source": "LKPM", "responsible": "Kabid", "order": 1}
        for i in ids
    ])  # fmt: skip
    db.session.execute(insert(IndicatorTarget), [
        {"indicator_id": i, "year": year, "target": 90 + year % 10}
        for i in ids for year in range(2026, 2031)
    ])  # fmt: skip
    db.session.commit()
    with StatementCounter(db.engine) as counter:
        response = run(client, "complete", [f"{i}:1" for i in ids])
    assert response.status_code == 302
    assert "dossier(s) skipped" not in flashes(client.get(response.headers["Location"]).text)
    return counter.count


def test_bulk_completion_with_content_checks_does_not_grow_either(db, client, people):
    login(client, "staf")
    small = _statements_for_bulk_completion_at_step_4(db, client, 10)
    large = _statements_for_bulk_completion_at_step_4(db, client, 600)  # > selectin's chunks
    assert small == large


def test_a_large_refusal_keeps_the_flash_small(db, client, people):
    ids = insert_dossiers(db, 300, 5)
    login(client, "staf")
    response = run(client, "approve", [f"{i}:1" for i in ids])  # a cookie warning would fail
    message = flashes(client.get(response.headers["Location"]).text)
    assert "300 dossier(s) skipped:" in message and "and 250 more" in message
    assert len(message) < 2000
