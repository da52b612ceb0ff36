"""The commands IT uses: seed, demo, create-user; and the refusal to run insecurely."""

from __future__ import annotations

import pytest
from conftest import dispose, make_app
from sqlalchemy import func, select

from iku_admin import create_app
from models import Base, Sop, SopStep, User


def rows(db) -> dict[str, int]:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }


def test_seed_loads_the_whole_sop_sheet(app, db):
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    sop = db.session.scalar(select(Sop))
    assert sop.number == "503/2021/DPM PTSP" and sop.status == "active"
    assert sop.ratified_by_nip == "197009301997031003" and sop.records == "Disimpan sebagai data"
    assert "Nomor 29 Tahun 2014" in sop.legal_basis and "Komputer" in sop.equipment
    steps = sop.steps
    assert [s.position for s in steps] == list(range(1, 10))
    assert [s.role.code for s in steps] == ["kepala_dinas", "sekretaris", "tim_sakip", "staf",
                                            "sekretaris", "perencana", "kepala_dinas",
                                            "sekretaris", "staf"]  # fmt: skip
    assert [s.time_label for s in steps] == ["10 menit", "20 menit", "1 hari", "1 hari",
                                             "30 menit", "30 menit", "1 hari", "5 menit",
                                             "15 menit"]  # fmt: skip
    assert sop.total_minutes == 1460
    review = steps[4]
    assert review.kind == "review" and review.return_to is steps[3]
    assert "Caraka" in steps[8].notes


def test_seed_and_demo_twice_leave_the_same_rows(db_url, app, db):
    demo_app = make_app(db_url, IKU_DEMO=True)
    runner = demo_app.test_cli_runner()
    try:
        with demo_app.app_context():  # the commands run in the demo app, not the test's
            for command in (["seed"], ["demo"]):
                assert runner.invoke(args=command).exit_code == 0
            for command in (["seed"], ["demo"], ["demo", "--if-empty"]):
                before = rows(db)
                assert runner.invoke(args=command).exit_code == 0
                assert rows(db) == before, command
            once = rows(db)
    finally:
        dispose(demo_app)
    assert once["app_user"] == 6 and once["dossier"] >= 2


def test_demo_is_refused_outside_demo_mode(app, db):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "IKU_DEMO" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_user_asks_for_a_password_and_applies_the_policy(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-user", "budi", "--role", "admin"], input="short\nshort\n")
    assert weak.exit_code != 0
    ok = runner.invoke(
        args=["create-user", "budi", "--role", "admin", "--full-name", "Budi Santoso"],
        input="sandi-yang-panjang\nsandi-yang-panjang\n",
    )
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.username == "budi"))
    assert user.full_name == "Budi Santoso" and user.role_codes == {"admin"}
    assert user.check_password("sandi-yang-panjang")
    unknown = runner.invoke(
        args=["create-user", "ani", "--role", "boss"], input="sandi-yang-panjang\n" * 2
    )
    assert unknown.exit_code != 0 and "boss" in unknown.output


def test_the_app_refuses_to_start_with_the_default_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("IKU_DEMO", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_sop_steps_standard_time_is_kept_in_working_minutes(app, db):
    step = db.session.scalar(select(SopStep).where(SopStep.position == 3))
    assert step.standard_minutes == 450
    with pytest.raises(ValueError):
        step.time_value = 0


def test_rebuild_totals_recomputes_the_dashboard_totals_from_the_history(app, db):
    from conftest import assert_totals_match_history
    from sqlalchemy import delete

    from iku_admin.seed import demo
    from models import MinutesCount, StepTotal

    demo(db.session)  # dossiers moved by the workflow, which keeps the totals
    assert_totals_match_history(db.session.connection())
    for table in (StepTotal, MinutesCount):
        db.session.execute(delete(table))
    db.session.commit()
    with pytest.raises(AssertionError):
        assert_totals_match_history(db.session.connection())
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(StepTotal)) > 0
    assert_totals_match_history(db.session.connection())
