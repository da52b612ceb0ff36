"""Screenshots of the main screens for the README: ``make screenshots``.

Builds a fresh SQLite database from the migrations in a temporary folder, loads the demo data,
adds a few dossiers moved along their SOP with ``iku_admin.workflow`` (so lists, history and the
bulk approval show real data), serves it and photographs the screens at 1366×768 into
``docs/screenshots/``.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from iku_admin import create_app, workflow
from iku_admin.extensions import db
from iku_admin.seed import DEMO_PASSWORD, demo
from models import Dossier, Indicator, IndicatorTarget, StrategicObjective, User

from .browser import open_person
from .data import advance, position
from .server import CHROMIUM, launch, serve

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
# More dossiers of the agency's fields, so that lists and the bulk approval have some to show.
MORE = [
    ("IKU Bidang Penanaman Modal 2026–2030", 5),
    ("IKU Bidang Pelayanan Perizinan 2026–2030", 5),
    ("IKU Sekretariat 2026–2030", 5),
    ("IKU Bidang Pengaduan dan Informasi 2026–2030", 3),
    ("IKU Bidang Pengendalian Pelaksanaan 2026–2030", 2),
]  # title, the step it is moved to
REASON = "Definisi indikator izin tepat waktu perlu mengacu pada standar waktu layanan OSS."


def copy_iku(source: Dossier, target: Dossier) -> None:
    """Give ``target`` the same strategic objectives, indicators and targets as ``source``."""
    for objective in source.objectives:
        copy = StrategicObjective(name=objective.name, order=objective.order)
        for i in objective.indicators:
            copy.indicators.append(
                Indicator(
                    name=i.name, definition=i.definition, unit=i.unit, polarity=i.polarity,
                    baseline=i.baseline, data_source=i.data_source, responsible=i.responsible,
                    order=i.order,
                    targets=[IndicatorTarget(year=t.year, target=t.target) for t in i.targets],
                )
            )  # fmt: skip
        target.objectives.append(copy)


def build_scene(app: Flask) -> dict:
    """The demo data and a few more dossiers moved along; what to photograph."""
    session = db.session
    upgrade()
    demo(session)  # one dossier finished, one waiting at the review after a return, one new
    users = session.scalars(select(User)).all()
    model = session.scalars(select(Dossier).order_by(Dossier.id)).first()
    for n, (title, at) in enumerate(MORE, start=10):
        dossier = Dossier(
            title=title, period_start=2026, period_end=2030,
            letter_number=f"050/{n:03d}/BAPPEDA/2026", letter_date=model.letter_date,
            letter_sender=model.letter_sender, letter_subject=model.letter_subject,
        )  # fmt: skip
        workflow.start_dossier(session, dossier)
        copy_iku(model, dossier)
        session.add(dossier)
        session.commit()
        advance(dossier, users, at)
    dossiers = session.scalars(select(Dossier).order_by(Dossier.id)).all()
    reviewed = next(d for d in dossiers if position(d) == 5)
    secretary = next(u for u in users if "sekretaris" in u.role_codes)
    workflow.return_for_revision(reviewed, secretary, REASON)
    advance(reviewed, users, 5)
    drafting = next(d for d in dossiers if position(d) == 3)
    return {
        "details": reviewed.id,
        "drafting": drafting.id,
        "bulk": [d.id for d in dossiers if d is not reviewed],
        "indicator": drafting.objectives[0].indicators[0].id,
    }


def photograph(base_url: str, scene: dict, browser) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(person, name: str, full_page: bool = False) -> None:
        path = OUT / f"{name}.png"
        person.page.screenshot(path=path, full_page=full_page)
        shots.append(path)

    sekretaris = open_person(browser, base_url, "sekretaris")
    sekretaris.goto("/login")
    sekretaris.page.fill("input[name=username]", "sekretaris")
    shot(sekretaris, "login")
    sekretaris.login(DEMO_PASSWORD)
    shot(sekretaris, "tugas-saya")
    sekretaris.goto("/admin/dossier/")
    shot(sekretaris, "dossier-list")
    sekretaris.goto(f"/admin/dossier/details/?id={scene['details']}")
    shot(sekretaris, "dossier-details", full_page=True)
    # The bulk approval, as the list's "with selected" menu does it.
    sekretaris.goto("/admin/dossier/")
    for pk in scene["bulk"]:
        sekretaris.page.check(f"input.action-checkbox[value^='{pk}:']")
    with sekretaris.page.expect_navigation():
        sekretaris.page.evaluate("name => window.modelActions.execute(name)", "approve")
    shot(sekretaris, "bulk-result")

    timsakip = open_person(browser, base_url, "timsakip")
    timsakip.login(DEMO_PASSWORD)
    timsakip.goto(f"/admin/dossier/details/?id={scene['drafting']}")
    shot(timsakip, "iku-editor", full_page=True)
    timsakip.goto(f"/admin/indicator/edit/?id={scene['indicator']}")
    shot(timsakip, "indicator-form")

    # The dossier page on a phone: the page keeps the screen's width, wide parts scroll.
    staf = open_person(browser, base_url, "staf")
    staf.page.set_viewport_size(PHONE)
    staf.login(DEMO_PASSWORD)
    staf.goto(f"/admin/dossier/details/?id={scene['details']}")
    shot(staf, "dossier-details-phone", full_page=True)
    for person in (sekretaris, timsakip, staf):
        for problem in dict.fromkeys(person.problems):
            print(f"warning: {problem}", file=sys.stderr)
        person.context.close()
    return shots


def main() -> int:
    if not Path(CHROMIUM).exists():
        print("Chromium not installed: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/screenshots.db",
            "SECRET_KEY": secrets.token_hex(32),
        })  # fmt: skip
        with app.app_context():
            scene = build_scene(app)
            db.session.remove()
        url, stop = serve(app)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                shots = photograph(url, scene, browser)
                browser.close()
        finally:
            stop()
            with app.app_context():
                db.engine.dispose()
    for path in shots:
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
