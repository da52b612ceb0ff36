"""The objective, indicator and target screens (search and reports): every row names its
dossier, a screen opened from a dossier keeps to it, and a form never starts on a dossier
whose IKU can no longer change."""

from __future__ import annotations

import html
import re

import pytest
from conftest import fill_iku, login, make_dossier, post
from sqlalchemy import func, select
from test_workflow import DONE, advance

from models import Dossier, Indicator, IndicatorTarget, StrategicObjective

SCREENS = ("objective", "indicator", "target")


@pytest.fixture
def three(db, people) -> dict[str, Dossier]:
    """A dossier being drafted, one approved (locked) and one finished, each with one
    objective and indicator of the same names, and its targets."""
    return {
        "drafted": fill_iku(make_dossier("IKU Sekretariat 2026–2030")),
        "locked": advance(fill_iku(make_dossier("IKU Bidang Promosi 2026–2030")), people, 6),
        "done": advance(fill_iku(make_dossier("IKU Bidang Pelayanan 2026–2030")), people, DONE),
    }


def options(page: str, field: str) -> list[tuple[str, str, bool]]:
    """The options of a form's select: (value, label, selected)."""
    select_html = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', page, re.S)[1]
    return [
        (re.search(r'value="([^"]*)"', attrs)[1], html.unescape(label.strip()),
         re.search(r"\bselected\b", attrs) is not None)
        for attrs, label in re.findall(r"<option([^>]*)>(.*?)</option>", select_html, re.S)
    ]  # fmt: skip


def test_labels_name_the_dossier(db, three):
    dossier = three["drafted"]
    objective = dossier.objectives[0]
    indicator = objective.indicators[0]
    label = f"#{dossier.id} · IKU Sekretariat 2026–2030"
    assert str(objective) == f"{label} · Meningkatnya investasi"
    assert str(indicator) == f"{label} · Nilai investasi 1"
    assert str(indicator.targets[0]) == f"{label} · Nilai investasi 1 · 2026: 906.00"
    assert str(StrategicObjective(name="Baru")) == "Baru"  # not yet in a dossier


@pytest.mark.parametrize("screen", SCREENS)
def test_lists_show_the_dossier_of_each_row(client, db, three, screen):
    login(client, "timsakip")
    page = html.unescape(client.get(f"/admin/{screen}/").text)
    for dossier in three.values():
        assert f"#{dossier.id} · {dossier.title}" in page


@pytest.mark.parametrize("screen", SCREENS)
def test_a_list_opened_from_a_dossier_keeps_to_it(client, db, three, screen):
    login(client, "timsakip")
    drafted = three["drafted"]
    page = client.get(f"/admin/{screen}/?dossier_id={drafted.id}").text
    text = html.unescape(page)
    assert f"#{drafted.id} · {drafted.title}" in text
    for other in ("locked", "done"):
        assert f"#{three[other].id} · {three[other].title}" not in text
    # Its create link, its way back to the dossier and to every dossier's rows.
    create = re.search(rf'href="(/admin/{screen}/new/[^"]*)"', text)[1]
    assert f"dossier_id={drafted.id}" in create.split("&")[-1]
    assert f"/admin/dossier/details/?id={drafted.id}" in text
    assert f'href="/admin/{screen}/"' in page
    assert client.get(f"/admin/{screen}/?dossier_id=999999").status_code == 404
    assert client.get(f"/admin/{screen}/?dossier_id=x").status_code == 404


@pytest.mark.parametrize(
    ("screen", "filter_name"),
    [("objective", "dossier_id"), ("indicator", "objective.dossier_id"),
     ("target", "indicator.objective.dossier_id")],
)  # fmt: skip
def test_lists_filter_by_dossier_number(client, db, three, screen, filter_name):
    login(client, "timsakip")
    # The filter's URL argument: its place among the view's filters ("equals" comes first).
    admin = client.application.extensions["admin"][0]
    view = next(v for v in admin._views if v.endpoint == screen)
    key = filter_name.split(".")[-1]
    index = next(i for i, f in enumerate(view._filters) if f.column.key == key)
    page = html.unescape(client.get(f"/admin/{screen}/?flt0_{index}={three['locked'].id}").text)
    assert f"#{three['locked'].id} · {three['locked'].title}" in page
    assert f"#{three['drafted'].id} · {three['drafted'].title}" not in page


def test_the_objective_form_offers_only_dossiers_being_drafted_none_chosen(client, db, three):
    login(client, "timsakip")
    choices = options(client.get("/admin/objective/new/").text, "dossier")
    drafted = three["drafted"]
    assert choices[0][0] == "__None" and choices[0][2]  # the blank choice, chosen
    assert [(v, label) for v, label, _ in choices[1:]] == [
        (str(drafted.id), f"#{drafted.id} · {drafted.title}")
    ]
    # Saved without a choice: a message, nothing stored.
    before = db.session.scalar(select(func.count()).select_from(StrategicObjective))
    response = post(client, "/admin/objective/new/",
                    {"dossier": "__None", "order": "2", "name": "Sasaran baru"})  # fmt: skip
    assert response.status_code in (200, 422)
    assert "is-invalid" in response.text
    assert db.session.scalar(select(func.count()).select_from(StrategicObjective)) == before
    # A finished dossier is refused even when posted.
    done = {"dossier": str(three["done"].id), "order": "2", "name": "Sasaran baru"}
    post(client, "/admin/objective/new/", done)
    assert db.session.scalar(select(func.count()).select_from(StrategicObjective)) == before


def test_a_form_opened_from_a_dossier_starts_on_it(client, db, three):
    drafted = three["drafted"]
    login(client, "timsakip")
    choices = options(client.get(f"/admin/objective/new/?dossier_id={drafted.id}").text, "dossier")
    assert [v for v, _label, chosen in choices if chosen] == [str(drafted.id)]
    # The indicator form offers that dossier's objectives; its only one is chosen.
    objective = drafted.objectives[0]
    choices = options(client.get(f"/admin/indicator/new/?dossier_id={drafted.id}").text,
                      "objective")  # fmt: skip
    assert [(v, chosen) for v, _label, chosen in choices] == [
        ("__None", False), (str(objective.id), True)]  # fmt: skip
    # A locked dossier's context offers nothing to choose.
    locked = three["locked"]
    choices = options(client.get(f"/admin/indicator/new/?dossier_id={locked.id}").text,
                      "objective")  # fmt: skip
    assert [v for v, _label, _chosen in choices] == ["__None"]
    # "Save and Add Another" stays with the dossier.
    response = post(client, f"/admin/objective/new/?dossier_id={drafted.id}",
                    {"dossier": str(drafted.id), "order": "2", "name": "Sasaran kedua",
                     "_add_another": "1"})  # fmt: skip
    assert response.status_code == 302
    assert f"dossier_id={drafted.id}" in response.headers["Location"]


def test_the_target_form_offers_indicators_of_dossiers_being_drafted(client, db, three):
    login(client, "timsakip")
    choices = options(client.get("/admin/target/new/").text, "indicator")
    drafted = three["drafted"].objectives[0].indicators[0]
    assert [v for v, _label, _chosen in choices] == ["__None", str(drafted.id)]
    assert not any(chosen for _v, _label, chosen in choices[1:])


def test_an_edit_form_offers_the_rows_own_parent(client, db, three):
    login(client, "timsakip")
    indicator = three["drafted"].objectives[0].indicators[0]
    choices = options(client.get(f"/admin/indicator/edit/?id={indicator.id}").text, "objective")
    assert [v for v, _label, chosen in choices if chosen] == [str(indicator.objective_id)]


def test_the_dossier_page_links_to_its_rows_in_the_tables(client, db, three):
    login(client, "kadis")
    drafted = three["drafted"]
    page = client.get(f"/admin/dossier/details/?id={drafted.id}").text
    for screen in SCREENS:
        assert f"/admin/{screen}/?dossier_id={drafted.id}" in page


def test_indicator_details_list_targets_by_year(client, db, three):
    login(client, "kadis")
    indicator = db.session.scalar(select(Indicator).limit(1))
    page = client.get(f"/admin/indicator/details/?id={indicator.id}").text
    assert "2026: 906" in page
    assert db.session.scalar(select(func.count()).select_from(IndicatorTarget)) == 15
