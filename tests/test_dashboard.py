"""The quality dashboard and the SOP evaluation form over HTTP, and the SVG charts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest
from conftest import PASSWORD, StatementCounter, login, make_user, post
from sqlalchemy import insert, select, update

from iku_admin import charts, mutu
from iku_admin.extensions import db as _db
from iku_admin.seed import DEMO_PASSWORD, demo
from models import Dossier, SopStep, StepRecord, User, utcnow

SVG = "{http://www.w3.org/2000/svg}"
URL = "/admin/dashboard/"
FORM = "/admin/dashboard/evaluation/"


def login_en(client, username: str, password: str = PASSWORD) -> None:
    """Log in with English chosen, so that messages are checked against their msgids
    whatever the Indonesian catalog says."""
    _db.session.execute(update(User).where(User.username == username).values(locale="en"))
    _db.session.commit()
    login(client, username, password)


def svgs(html: str) -> list[ET.Element]:
    """Every inline SVG of a page, parsed as XML (fails on malformed markup)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.S)]


# --- charts -----------------------------------------------------------------------------------

NASTY = 'A <b>&amp; "quoted"</b> \x01 label'


@pytest.mark.parametrize(
    "chart",
    [
        lambda: charts.bar_chart([charts.Bar(NASTY, 3), charts.Bar("2", 0)], title=NASTY,
                                 empty="-"),
        lambda: charts.hbar_chart(
            [charts.HBar(NASTY, 5, 7, 6, alert=True), charts.HBar("x", 0)], title=NASTY,
            legend=charts.Legend(NASTY, NASTY, NASTY, NASTY), empty="-",
        ),
        lambda: charts.bar_chart([], title=NASTY, empty=NASTY),
        lambda: charts.hbar_chart([], title=NASTY, legend=charts.Legend("v"), empty=NASTY),
    ],
)  # fmt: skip
def test_charts_are_valid_svg_and_escape_text(chart):
    markup = chart()
    svg = ET.fromstring(str(markup))
    assert svg.tag == f"{SVG}svg"
    assert "<b>" not in markup and "&lt;b&gt;&amp;amp;" in markup
    texts = [el.text for el in svg.iter() if el.text]
    assert 'A <b>&amp; "quoted"</b>  label' in texts  # the control character is dropped
    assert "script" not in markup and "href" not in markup


def test_hbar_chart_draws_marker_alert_and_values():
    markup = charts.hbar_chart(
        [charts.HBar("late", 30, 40, 20, alert=True), charts.HBar("fine", 10, marker=20)],
        title="t", legend=charts.Legend("median", "p90", "standard", "over"), empty="-",
    )  # fmt: skip
    svg = ET.fromstring(str(markup))
    fills = [r.get("fill") for r in svg.iter(f"{SVG}rect")]
    assert fills.count(charts.OVER) == 2  # the late row and its legend swatch
    assert len([line for line in svg.iter(f"{SVG}line")]) == 3  # two markers, one legend
    texts = [el.text for el in svg.iter(f"{SVG}text")]
    assert {"30 / 40", "10", "median", "p90", "standard", "over"} <= set(texts)


def test_bar_chart_scales_to_the_largest_value():
    svg = ET.fromstring(str(charts.bar_chart(
        [charts.Bar("a", 2), charts.Bar("b", 4)], title="t", empty="-")))  # fmt: skip
    heights = [float(r.get("height")) for r in svg.iter(f"{SVG}rect")]
    assert heights == [75.0, 150.0]


def test_hbar_chart_scale_and_long_labels():
    long = "Memeriksa ketikan konsep Indikator Kinerja Utama; bila setuju diserahkan"
    svg = ET.fromstring(str(charts.hbar_chart(
        [charts.HBar(long, 50, marker=80)], title="t", legend=charts.Legend("v"), empty="-",
        scale=100,
    )))  # fmt: skip
    bar = next(r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None)
    assert float(bar.get("width")) == pytest.approx(0.5 * (charts.WIDTH - 216 - 120))
    label = next(t.text for t in svg.iter(f"{SVG}text") if t.text.startswith("Memeriksa"))
    assert len(label) == charts.LABEL_CHARS and label.endswith("…")
    assert bar.find(f"{SVG}title").text == f"{long}: 50"


# --- the dashboard page -----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["kadis", "sekretaris", "perencana", "timsakip", "staf",
                                      "admin"])  # fmt: skip
def test_every_role_sees_the_dashboard_on_an_empty_database(client, people, username):
    login_en(client, username)
    response = client.get(URL)
    assert response.status_code == 200
    assert len(svgs(response.text)) == 7
    assert "No dossier is overdue." in response.text


def test_anonymous_is_sent_to_login(client, app):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.location


@pytest.fixture
def demo_history(db):
    """The demo data: its first dossier went through the whole SOP with one revision round."""
    demo(db.session)
    dossier = db.session.scalar(select(Dossier).order_by(Dossier.id))
    assert dossier.status == "done" and dossier.revision_round == 1
    return dossier


@pytest.mark.parametrize("username", ["kadis", "sekretaris", "perencana", "timsakip", "staf",
                                      "admin"])  # fmt: skip
def test_every_role_sees_every_chart_with_the_demo_data(client, demo_history, username):
    login_en(client, username, DEMO_PASSWORD)
    response = client.get(URL)
    assert response.status_code == 200
    drawn = svgs(response.text)
    assert len(drawn) == 7
    # with history, no chart shows the "no data" message
    assert all(len(list(svg.iter(f"{SVG}rect"))) > 0 for svg in drawn)
    # no inline script: every script tag loads a file (the CSP forbids inline scripts)
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", response.text))


def test_filters(client, people, db):
    login_en(client, "kadis")
    assert client.get(URL + "?year=2026").status_code == 200
    assert client.get(URL + "?period=").status_code == 200
    response = client.get(URL + "?year=1999")
    assert response.status_code == 400
    assert "Number must be between 2000 and 2100." in response.text
    assert "<svg" not in response.text
    refused = client.get(URL + "?year=abc").text
    assert "abc” is not a valid number. Write it like 1,234.5" in refused
    response = client.get(URL + "?period=2026-2030")
    assert response.status_code == 400  # no dossier has that period yet
    from conftest import make_dossier

    make_dossier(period=(2026, 2030))
    response = client.get(URL + "?period=2026-2030")
    assert response.status_code == 200
    assert 'selected value="2026-2030"' in response.text


def _bulk_history(db, dossiers: int) -> None:
    """``dossiers`` dossiers with two step records each; most are open at step 3, and two
    thirds of those are overdue."""
    steps = {s.position: s for s in db.session.scalars(select(SopStep))}
    user = make_user(f"bulk{dossiers}", "tim_sakip")
    now = utcnow()
    rows = [
        {"title": f"D{n}", "period_start": 2026, "period_end": 2030, "letter_number": "1",
         "letter_date": date(2026, 1, 5), "letter_sender": "s", "letter_subject": "s",
         "sop_id": steps[1].sop_id, "current_step_id": steps[3].id, "revision_round": n % 3,
         "step_due_at": now + timedelta(hours=-1 if n % 3 else 1),
         "status": "in_progress" if n % 4 else "done", "finished_at": now}
        for n in range(dossiers)
    ]  # fmt: skip
    ids = db.session.scalars(insert(Dossier).returning(Dossier.id), rows).all()
    db.session.execute(insert(StepRecord), [
        {"dossier_id": i, "dossier_version": v, "step_id": steps[v].id, "position": v,
         "user_id": user.id, "role_id": steps[v].role_id, "outcome": "done", "started_at": now,
         "finished_at": now, "working_minutes": i % 40, "standard_minutes": 20, "sop_version": 1}
        for i in ids for v in (1, 2)
    ])  # fmt: skip
    mutu.rebuild_totals(db.session.connection())  # the records bypassed the workflow
    db.session.commit()


def test_statement_count_does_not_grow_with_dossiers(client, people, db):
    login_en(client, "kadis")
    counts = []
    for total in (10, 200):
        _bulk_history(db, total - len(counts) * 10)
        with StatementCounter(db.engine) as counter:
            response = client.get(URL)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert "The 50 most overdue of" in response.text  # 100 overdue, 50 listed


# --- the SOP evaluation form ------------------------------------------------------------------


@pytest.fixture
def measured(db, people):
    """Step 2 finished once within its standard (10 of 20 minutes) in January 2026; step 1
    finished once over it."""
    steps = {s.position: s for s in db.session.scalars(select(SopStep))}
    from conftest import make_dossier

    dossier = make_dossier()
    at = utcnow().replace(year=2026, month=1, day=20)
    db.session.execute(insert(StepRecord), [
        {"dossier_id": dossier.id, "dossier_version": p, "step_id": steps[p].id, "position": p,
         "user_id": people["sekretaris"].id, "role_id": steps[p].role_id, "outcome": "done",
         "started_at": at, "finished_at": at, "working_minutes": minutes,
         "standard_minutes": steps[p].standard_minutes, "sop_version": 1}
        for p, minutes in ((1, 30), (2, 10))
    ])  # fmt: skip
    mutu.rebuild_totals(db.session.connection())  # the records bypassed the workflow
    db.session.commit()
    return steps


def _checked(html: str, index: int) -> str:
    """The value of the checked assessment radio of row ``index``."""
    for tag in re.findall(rf'<input [^>]*name="steps-{index}-assessment"[^>]*>', html):
        if tag.startswith("<input checked "):
            return re.search(r'value="(\w*)"', tag).group(1)
    return None


def test_evaluation_form_is_prefilled(client, measured):
    login_en(client, "kadis")
    response = client.get(FORM + "?year=2026&semester=1")
    assert response.status_code == 200
    html = response.text
    assert _checked(html, 1) == "good"  # step 2: all its records within the standard
    assert _checked(html, 0) == "poor"  # step 1: 30 of 10 minutes
    assert _checked(html, 3) == ""  # step 4: nothing measured
    assert "100% within the standard" in html
    assert "Keep the current practice." in html
    # the other half-year has nothing measured
    assert _checked(client.get(FORM + "?year=2026&semester=2").text, 1) == ""


def test_evaluation_opens_without_a_choice(client, measured):
    login_en(client, "staf")
    response = client.get(FORM)
    assert response.status_code == 200
    assert 'name="steps-8-position"' in response.text  # nine steps


@pytest.mark.parametrize("query", ["?year=2026&semester=3", "?year=abc&semester=1",
                                   "?year=1800&semester=1"])  # fmt: skip
def test_evaluation_refuses_a_bad_half_year(client, measured, query):
    login_en(client, "kadis")
    response = client.get(FORM + query)
    assert response.status_code == 400
    assert "alert-danger" in response.text and "steps-0-position" not in response.text


def _posted(steps, **changes) -> dict:
    data = {"assessor": "Dra. Siti Aminah", "assessor_nip": "19720415 199803 2 004",
            "assessed_on": "2026-07-15"}  # fmt: skip
    for index, position in enumerate(sorted(steps)):
        data[f"steps-{index}-position"] = str(position)
        data[f"steps-{index}-assessment"] = "good"
        data[f"steps-{index}-note"] = f"catatan {position}"
        data[f"steps-{index}-action"] = ""
        data[f"steps-{index}-initials"] = "SA"
    data.update(changes)
    return data


def test_edited_form_prints_as_html(client, measured):
    login_en(client, "sekretaris")
    data = _posted(measured, **{"steps-0-assessment": "poor",
                                "steps-0-note": "Terlambat <script>alert(1)</script> & lama",
                                "steps-0-action": "Tambah staf", "html": "Print view"})  # fmt: skip
    response = post(client, FORM + "?year=2026&semester=1", data)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.text
    assert "Terlambat &lt;script&gt;alert(1)&lt;/script&gt; &amp; lama" in html
    assert "<script" not in html and "http" not in html.replace(
        "http://www.w3.org", "")  # fmt: skip
    assert "Tambah staf" in html and "Dra. Siti Aminah" in html
    assert "NIP 19720415 199803 2 004" in html
    assert "Semester 1 (January–June) 2026" in html
    assert html.count("✓") == 9
    row = re.search(r"<tr>\s*<td class=\"no\">1</td>.*?</tr>", html, re.S).group(0)
    marks = re.findall(r'<td class="mark">(.*?)</td>', row)
    assert marks == ["", "✓"]  # step 1 marked "does not run well"


def test_edited_form_downloads_as_pdf(client, measured):
    login_en(client, "kadis")
    data = _posted(measured, **{"steps-2-note": "Catatan khusus", "pdf": "Download PDF"})
    response = post(client, FORM + "?year=2026&semester=1", data)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "evaluasi-sop-2026-s1.pdf" in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"assessor_nip": "123"}, "NIP must be exactly 18 digits."),
        ({"assessed_on": "15-07-2026"}, "Enter the date as dd/mm/yyyy, for example 31/12/2026."),
        ({"steps-0-assessment": "maybe"}, "Not a valid choice."),
        ({"steps-0-note": "x" * 1001}, "Field cannot be longer than 1000 characters."),
        ({"steps-8-position": "10"}, "The SOP steps have changed since this form was opened."),
    ],
)
def test_bad_edits_are_shown_again_with_a_message(client, measured, changes, message):
    login_en(client, "kadis")
    response = post(client, FORM + "?year=2026&semester=1", _posted(measured, **changes))
    assert response.status_code == 422
    assert message in response.text
    assert response.mimetype == "text/html" and "steps-0-position" in response.text


def test_evaluation_post_needs_a_csrf_token(client, measured):
    login_en(client, "kadis")
    response = client.post(FORM + "?year=2026&semester=1", data=_posted(measured))
    assert response.status_code == 400
