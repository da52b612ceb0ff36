"""The workflow through the web UI only: the details page, its buttons, and "Tugas Saya"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import flashes, login, make_dossier, make_user, post
from sqlalchemy import func, select
from test_workflow import ACTORS, DONE, advance, english, snapshot  # noqa: F401 (autouse)

from iku_admin import workflow
from iku_admin.extensions import db as _db
from models import Dossier, StepRecord, StrategicObjective, utcnow

FORM = re.compile(r'<form method="post" action="([^"]+)" class="[^"]*workflow-form[^"]*"'
                  r".*?</form>", re.S)  # fmt: skip


def act_as(client, username: str) -> None:
    """Log out whoever is logged in and log in as ``username``."""
    post(client, "/logout")
    login(client, username)


def buttons(html: str) -> dict[str, tuple[str, str]]:
    """The workflow buttons of a details page: action -> (form url, version posted)."""
    found = {}
    for match in FORM.finditer(html):
        action = re.search(r'name="action" value="(\w+)"', match.group(0)).group(1)
        version = re.search(r'name="version" value="(\d+)"', match.group(0)).group(1)
        found[action] = (match.group(1), version)
    return found


def press(client, dossier_id: int, action: str, note: str = "", status: int = 303):
    """Open the details page, press the button of ``action`` and return the next page."""
    page = client.get(f"/admin/dossier/details/?id={dossier_id}")
    assert page.status_code == 200
    url, version = buttons(page.text)[action]
    response = post(client, url, {"action": action, "version": version, "note": note})
    assert response.status_code == status, (action, response.status_code, flashes(response.text))
    if status == 303:
        return client.get(response.headers["Location"])
    return response


def hidden_version(html: str, name: str = "version") -> str:
    return re.search(rf'name="{name}" type="hidden" value="(\d+)"', html).group(1)


# --- the whole SOP through the browser ----------------------------------------------------------


def test_demo_accounts_take_a_dossier_from_step_1_to_done_with_one_return(db, client, people):
    act_as(client, "staf")
    response = post(client, "/admin/dossier/new/", {
        "title": "IKU DPMPTSP 2026–2030", "period_start": "2026", "period_end": "2030",
        "letter_number": "050/001/BAPPEDA/2026", "letter_date": "2026-01-06",
        "letter_sender": "Bappeda", "letter_subject": "Penyusunan IKU Perangkat Daerah",
    })  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    dossier_id = db.session.scalar(select(func.max(Dossier.id)))

    for step in (1, 2):
        act_as(client, ACTORS[step])
        page = press(client, dossier_id, "complete", note=f"Disposisi langkah {step}")
        assert f"Step {step} recorded" in flashes(page.text)

    act_as(client, "timsakip")
    page = press(client, dossier_id, "complete", status=409)  # no IKU content yet
    assert "at least one indicator" in flashes(page.text)
    response = post(client, "/admin/objective/new/", {
        "dossier": dossier_id, "order": "1", "name": "Meningkatnya realisasi investasi",
    })  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    objective_id = db.session.scalar(select(func.max(StrategicObjective.id)))
    targets = {}
    for n, year in enumerate(range(2026, 2031)):
        targets |= {f"targets-{n}-year": str(year), f"targets-{n}-target": str(900 + 50 * n)}
    response = post(client, "/admin/indicator/new/", {
        "objective": objective_id, "order": "1", "name": "Nilai realisasi investasi",
        "definition": "Jumlah realisasi PMA dan PMDN", "unit": "Miliar Rupiah",
        "polarity": "max", "baseline": "850", "data_source": "LKPM",
        "responsible": "Kepala Bidang Promosi", **targets,
    })  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    press(client, dossier_id, "complete")

    act_as(client, "staf")
    press(client, dossier_id, "complete")
    act_as(client, "sekretaris")
    page = press(client, dossier_id, "return", note="Target 2027 belum sesuai Renstra")
    assert "Revision rounds:</strong> 1" in page.text
    act_as(client, "staf")
    press(client, dossier_id, "complete")
    for step in (5, 6, 7, 8):
        act_as(client, ACTORS[step])
        press(client, dossier_id, "approve" if step == 5 else "complete")

    act_as(client, "staf")
    page = press(client, dossier_id, "complete", status=409)
    assert "outgoing letter agenda number" in flashes(page.text)
    assert "distribution record" in flashes(page.text)
    edit = client.get(f"/admin/dossier/edit/?id={dossier_id}").text
    response = post(client, f"/admin/dossier/edit/?id={dossier_id}", {
        "title": "IKU DPMPTSP 2026–2030", "period_start": "2026", "period_end": "2030",
        "letter_number": "050/001/BAPPEDA/2026", "letter_date": "2026-01-06",
        "letter_sender": "Bappeda", "letter_subject": "Penyusunan IKU Perangkat Daerah",
        "outgoing_agenda_number": "050/045/DPMPTSP/2026",
        "distribution_record": "Bappeda, Inspektorat, BPKAD (buku ekspedisi)",
        "version": hidden_version(edit),
    })  # fmt: skip
    assert response.status_code == 302, flashes(response.text)
    page = press(client, dossier_id, "complete")

    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier.status == "done" and dossier.revision_round == 1
    records = db.session.scalars(
        select(StepRecord).where(StepRecord.dossier_id == dossier_id).order_by(StepRecord.id)
    ).all()
    assert len(records) == 11
    assert [r.position for r in records] == [1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9]
    assert [r.user.username for r in records] == [ACTORS[r.position] for r in records]
    assert records[4].outcome == "returned" and records[4].note.startswith("Target 2027")
    assert records[0].note == "Disposisi langkah 1"
    assert len(re.findall(r'<li class="(?:done|approved|returned)">', page.text)) == 11
    assert "<strong>Finished</strong>" in page.text
    assert buttons(page.text) == {}
    assert "Nobody: the dossier is finished." in page.text


# --- the details page ----------------------------------------------------------------------------


def test_details_page_shows_position_history_iku_and_the_reviewers_two_buttons(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    act_as(client, "sekretaris")
    html = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    assert html.count('class="badge badge-success"') == 4  # steps 1-4 passed
    assert html.count('class="badge badge-primary"') == 1  # step 5 current
    assert "<strong>Current step:</strong> 5. Memeriksa ketikan" in html
    assert "Revision rounds:</strong> 0" in html
    assert html.count('<li class="done">') == 4  # the history: steps 1-4
    assert "Nilai investasi 1" in html and "Kepala Bidang Promosi" in html  # IKU table
    assert all(str(year) in html for year in range(2026, 2031))
    assert set(buttons(html)) == {"approve", "return"}
    assert all(version == str(dossier.version) for _url, version in buttons(html).values())
    assert html.count("data-confirm=") == 2  # both ask before recording
    assert "waits for" not in html


@pytest.mark.parametrize("who", ["kadis", "staf", "perencana", "timsakip", "admin"])
def test_others_see_no_button_but_who_is_expected_to_act(db, client, people, who):
    dossier = advance(make_dossier(), people, 5)
    act_as(client, who)
    html = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    assert buttons(html) == {}
    assert "Step 5 waits for Sekretaris (Sekretaris)." in html


def test_a_task_step_shows_one_complete_button(db, client, people):
    dossier = advance(make_dossier(), people, 3)
    act_as(client, "timsakip")
    assert set(buttons(client.get(f"/admin/dossier/details/?id={dossier.id}").text)) == {"complete"}


def test_the_one_who_typed_the_draft_sees_no_review_button(db, client, people):
    ganda = make_user("ganda", "staf", "sekretaris", full_name="Pegawai Ganda")
    ganda.locale = "en"
    dossier = advance(make_dossier(), people, 4)
    act_as(client, "ganda")
    press(client, dossier.id, "complete")
    html = client.get(f"/admin/dossier/details/?id={dossier.id}").text
    assert buttons(html) == {} and "Step 5 waits for Sekretaris" in html


# --- refused transitions through HTTP -------------------------------------------------------------


def test_wrong_role_through_http_is_refused_with_a_message_and_changes_nothing(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    before = snapshot(db, dossier)
    act_as(client, "staf")
    response = post(client, f"/admin/dossier/transition/?id={dossier.id}",
                    {"action": "approve", "version": dossier.version})  # fmt: skip
    assert response.status_code == 409
    assert "The current step is 5" in flashes(response.text)
    assert snapshot(db, dossier) == before


def test_a_stale_page_is_refused_as_already_processed(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    act_as(client, "sekretaris")
    url, version = buttons(client.get(f"/admin/dossier/details/?id={dossier.id}").text)["approve"]
    assert post(client, url, {"action": "approve", "version": version}).status_code == 303
    before = snapshot(db, dossier)
    # The same button again, e.g. a double click or a second tab.
    response = post(client, url, {"action": "approve", "version": version})
    assert response.status_code == 409
    assert "Already processed by Sekretaris" in flashes(response.text)
    assert snapshot(db, dossier) == before


def test_a_return_without_reason_is_refused_through_http(db, client, people):
    dossier = advance(make_dossier(), people, 5)
    before = snapshot(db, dossier)
    act_as(client, "sekretaris")
    response = press(client, dossier.id, "return", note="  ", status=409)
    assert "A reason is required" in flashes(response.text)
    assert snapshot(db, dossier) == before


@pytest.mark.parametrize(
    ("query", "data", "status"),
    [
        ("?id={id}", {"action": "approve", "version": "x"}, 400),
        ("?id={id}", {"action": "approve"}, 400),
        ("?id={id}", {"action": "delete", "version": "{version}"}, 400),
        ("?id=999999", {"action": "approve", "version": "1"}, 404),
        ("?id=abc", {"action": "approve", "version": "1"}, 404),
        ("", {"action": "approve", "version": "1"}, 404),
    ],
)
def test_malformed_transitions_are_refused_with_4xx(db, client, people, query, data, status):
    dossier = advance(make_dossier(), people, 5)
    before = snapshot(db, dossier)
    act_as(client, "sekretaris")
    data = {k: v.format(version=dossier.version) for k, v in data.items()}
    response = post(client, "/admin/dossier/transition/" + query.format(id=dossier.id), data)
    assert response.status_code == status
    assert snapshot(db, dossier) == before


def test_a_transition_without_csrf_token_is_refused(db, client, people):
    dossier = make_dossier()
    act_as(client, "kadis")
    response = client.post(f"/admin/dossier/transition/?id={dossier.id}",
                           data={"action": "complete", "version": dossier.version})  # fmt: skip
    assert response.status_code == 400
    assert snapshot(db, dossier)[0] == dossier.sop.steps[0].id


# --- Tugas Saya ---------------------------------------------------------------------------------


def _at(people, position: int, title: str, waited_days: int = 0) -> Dossier:
    dossier = advance(make_dossier(title), people, position)
    if waited_days:
        dossier.step_started_at = utcnow() - timedelta(days=waited_days)
        workflow.recompute_due_times(_db.session)  # due when the step took the longer start
        _db.session.commit()
    return dossier


def test_my_tasks_lists_only_the_dossiers_waiting_on_my_roles(db, client, people):
    for position in (1, 2, 3, 4, 5, 9):
        _at(people, position, f"Berkas langkah {position}")
    _at(people, DONE, "Berkas selesai")
    expected = {
        "staf": {4, 9}, "sekretaris": {2, 5}, "kadis": {1}, "timsakip": {3},
        "perencana": set(), "admin": set(),
    }  # fmt: skip
    for who, positions in expected.items():
        act_as(client, who)
        html = client.get("/admin/").text
        listed = {int(n) for n in re.findall(r">Berkas langkah (\d+)</a>", html)}
        assert listed == positions, who
        assert "Berkas selesai" not in html
        if not positions:
            assert "Nothing is waiting for you." in html


def test_my_tasks_puts_the_longest_waiting_first_and_shows_how_long(db, client, people):
    _at(people, 2, "Berkas baru")
    _at(people, 2, "Berkas lama", waited_days=7)
    _at(people, 5, "Berkas tengah", waited_days=1)
    act_as(client, "sekretaris")
    html = client.get("/admin/").text
    order = re.findall(r">(Berkas \w+)</a>", html)
    assert order == ["Berkas lama", "Berkas tengah", "Berkas baru"]
    assert html.count("overdue-mark") >= 1  # a week is more than the 20 minutes of step 2
    waited = [int(re.sub(r"\D", "", m)) for m in re.findall(r"<td>([\d.,]+) min", html)]
    assert waited[0] >= 4 * 450


def test_the_landing_page_after_login_is_my_tasks(db, client, people):
    _at(people, 4, "Berkas ketik")
    response = login(client, "staf")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Berkas ketik" in page.text
