"""A second SOP defined by IT in the panel alone: "Penyusunan Laporan Kinerja (LKjIP)", seven
steps, two new roles, its own review that returns the draft, its own standard times and a
field of its own that its last step requires. Its dossier runs to the end, with one return,
beside an IKU dossier; each SOP's dashboard, evaluation form and SOP sheet show only its own
steps and history. Everything the admin does goes through the panel over HTTP."""

from __future__ import annotations

import re

from conftest import PASSWORD, assert_totals_match_history, flashes, post
from sqlalchemy import select
from test_roles import MATRIX_URL, cell, matrix_form
from test_workflow import english  # noqa: F401 (autouse)
from test_workflow_web import act_as, buttons, press

from iku_admin.extensions import db as _db
from models import Dossier, Procedure, Role, Sop, SopStep

LKJIP = "Penyusunan Laporan Kinerja (LKjIP)"
RECEIPT = "Nomor tanda terima e-SAKIP"
# position, activity, role code, time, unit, kind, returns to, requires
STEPS = [
    (1, "Mendisposisikan penyusunan LKjIP", "kepala_dinas", 30, "menit", "task", None, []),
    (2, "Memerintahkan penyusunan LKjIP", "sekretaris", 1, "jam", "task", None, []),
    (3, "Menyusun draf LKjIP", "analis_kinerja", 3, "hari", "task", None, []),
    (4, "Memeriksa data capaian kinerja", "perencana", 1, "hari", "task", None, []),
    (5, "Mereviu draf LKjIP", "reviu_lkjip", 1, "hari", "review", 3, []),
    (6, "Menandatangani LKjIP", "kepala_dinas", 2, "jam", "task", None, []),
    (7, "Mengunggah LKjIP ke e-SAKIP", "staf", 45, "menit", "task", None, ["receipt"]),
]
NEW_ROLES = {"analis_kinerja": ("Analis Kinerja", "ana"), "reviu_lkjip": ("Reviewer LKjIP", "rudi")}


def ok(response, status: int = 302):
    assert response.status_code == status, flashes(response.text) or response.text[-2000:]
    return response


def define_lkjip(client, db) -> Sop:
    """What IT does, in the panel only."""
    act_as(client, "admin")
    for code, (name, username) in NEW_ROLES.items():
        ok(post(client, "/admin/role/new/", {"code": code, "name": name}))
        role_id = db.session.scalar(select(Role.id).where(Role.code == code))
        ok(post(client, "/admin/user/new/", {
            "username": username, "full_name": name + " Satu", "roles": str(role_id),
            "active": "y", "locale": "en", "password": PASSWORD,
        }))  # fmt: skip
    # The new roles read and act on dossiers, and read the dashboard and documents.
    data = matrix_form(client)
    for code in NEW_ROLES:
        role = db.session.scalar(select(Role).where(Role.code == code))
        for screen in ("dossier", "dashboard", "documents"):
            data[cell(role, screen)] = "read"
    ok(post(client, MATRIX_URL, data))
    # The field the last step requires.
    ok(post(client, "/admin/custom_field/new/", {
        "entity": "dossier", "code": "receipt", "label": RECEIPT, "kind": "text",
        "position": "1", "in_list": "y", "active": "y",
    }))  # fmt: skip
    # The SOP, its first version, its steps.
    ok(post(client, "/admin/procedure/new/", {"name": LKJIP}))  # no IKU: box left unticked
    procedure = db.session.scalar(select(Procedure).where(Procedure.name == LKJIP))
    assert not procedure.carries_iku
    ok(post(client, "/admin/sop/new/", {
        "procedure": str(procedure.id), "number": "700/05/DPMPTSP/2026", "name": LKJIP,
        "agency": "DPMPTSP", "government": "Kabupaten Tanjung Jabung Barat",
    }))  # fmt: skip
    sop = db.session.scalar(select(Sop).where(Sop.procedure_id == procedure.id))
    ids = {}
    for position, activity, code, value, unit, kind, back, needs in STEPS:
        role_id = db.session.scalar(select(Role.id).where(Role.code == code))
        ok(post(client, "/admin/sop_step/new/", {
            "sop": str(sop.id), "position": str(position), "activity": activity,
            "role": str(role_id), "time_value": str(value), "time_unit": unit, "kind": kind,
            "return_to": str(ids[back]) if back else "", "requirements": needs,
            "input": "", "output": "", "notes": "", "action_label": "",
        }))  # fmt: skip
        ids[position] = db.session.scalar(
            select(SopStep.id).where(SopStep.sop_id == sop.id, SopStep.position == position)
        )
    response = ok(post(client, "/admin/sop/action/", {"action": "activate", "rowid": str(sop.id)}))
    assert "is now active" in flashes(client.get(response.headers["Location"]).text)
    db.session.expire_all()
    return db.session.get(Sop, sop.id)


def register(client, **fields) -> Dossier:
    data = {"period_start": "2026", "period_end": "2026", "letter_number": "050/120/2026",
            "letter_date": "2026-03-02", "letter_sender": "Bagian Organisasi Setda",
            "letter_subject": "Penyusunan laporan", **fields}  # fmt: skip
    ok(post(client, "/admin/dossier/new/", data))
    return _db.session.scalar(select(Dossier).where(Dossier.title == fields["title"]))


def at(db, dossier: Dossier) -> int | None:
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier.id)
    return None if dossier.status == "done" else dossier.current_step.position


def test_it_defines_an_lkjip_sop_in_the_panel_and_it_runs_beside_the_iku(db, client, people):
    iku_sop = db.session.scalar(select(Sop).where(Sop.status == "active"))
    lkjip = define_lkjip(client, db)
    assert [s.standard_minutes for s in lkjip.steps] == [30, 60, 1350, 450, 450, 120, 45]

    act_as(client, "staf")
    form = client.get("/admin/dossier/new/").text
    assert LKJIP in form and iku_sop.procedure.name in form
    report = register(client, title="LKjIP 2025", sop=str(lkjip.id))
    iku = register(client, title="IKU 2026–2030 (renstra)", period_end="2030")
    assert (report.sop_id, iku.sop_id) == (lkjip.id, iku_sop.id)

    walk = [("kadis", "complete"), ("sekretaris", "complete"), ("ana", "complete"),
            ("perencana", "complete")]  # fmt: skip
    for username, action in walk:
        act_as(client, username)
        assert report.title in client.get("/admin/").text  # in Tugas Saya
        press(client, report.id, action)
    act_as(client, "kadis")  # the IKU dossier moves too, meanwhile
    press(client, iku.id, "complete")
    assert (at(db, report), at(db, iku)) == (5, 2)

    act_as(client, "rudi")  # the review returns the draft to step 3, with the reason
    page = client.get(f"/admin/dossier/details/?id={report.id}").text
    assert set(buttons(page)) == {"approve", "return"}
    press(client, report.id, "return", note="Capaian sasaran 2 belum dianalisis.")
    assert at(db, report) == 3
    act_as(client, "ana")
    assert "Capaian sasaran 2 belum dianalisis." in client.get("/admin/").text
    press(client, report.id, "complete")
    act_as(client, "perencana")
    press(client, report.id, "complete")
    act_as(client, "rudi")
    press(client, report.id, "approve")
    act_as(client, "kadis")
    press(client, report.id, "complete")
    assert at(db, report) == 7

    # The last step wants the receipt number: typed beside the button, refused without it.
    act_as(client, "staf")
    page = client.get(f"/admin/dossier/details/?id={report.id}").text
    assert RECEIPT in page and 'name="receipt"' in page
    url, version = buttons(page)["complete"]
    refused = post(client, url, {"action": "complete", "version": version})
    assert refused.status_code == 409 and RECEIPT.lower() in refused.text.lower()
    assert at(db, report) == 7
    done = post(client, url, {"action": "complete", "version": version,
                              "receipt": "ESAKIP-2026-0042"})  # fmt: skip
    assert done.status_code == 303, flashes(done.text)
    assert at(db, report) is None
    db.session.expire_all()
    assert db.session.get(Dossier, report.id).extra == {"receipt": "ESAKIP-2026-0042"}
    assert at(db, iku) == 2
    assert_totals_match_history(db.session.connection())

    # Each SOP's dashboard, evaluation form and sheet: its own steps and history only.
    act_as(client, "kadis")
    lkjip_steps = [activity for _p, activity, *_rest in STEPS]
    iku_steps = [s.activity for s in iku_sop.steps]
    mine = client.get(f"/admin/dashboard/?sop={lkjip.procedure_id}").text
    theirs = client.get("/admin/dashboard/").text
    assert all(a in mine for a in lkjip_steps) and not any(a in mine for a in iku_steps)
    assert all(a in theirs for a in iku_steps) and not any(a in theirs for a in lkjip_steps)
    assert report.title in mine and report.title not in theirs  # its finished cycle
    evaluation = client.get(f"/admin/dashboard/evaluation/?sop={lkjip.procedure_id}").text
    assert all(a in evaluation for a in lkjip_steps)
    assert not any(a in evaluation for a in iku_steps)
    sheet = client.get(f"/admin/documents/sop/{lkjip.id}/").text
    assert all(a in sheet for a in lkjip_steps) and not any(a in sheet for a in iku_steps)
    sheet = client.get(f"/admin/documents/sop/{iku_sop.id}/").text
    assert not any(a in sheet for a in lkjip_steps)
    # Its dossier has no IKU; the field shows on its page and in the list.
    page = client.get(f"/admin/dossier/details/?id={report.id}").text
    assert "ESAKIP-2026-0042" in page and "/documents/iku/" not in page
    assert "ESAKIP-2026-0042" in client.get("/admin/dossier/").text
    assert re.search(r"Reviewer LKjIP", page)  # who reviewed, by the role's name
    # Its record sheet: the field, the return and its reason, every step against its time.
    sheet = client.get(f"/admin/documents/dossier/{report.id}/").text
    assert RECEIPT in sheet and "ESAKIP-2026-0042" in sheet and LKJIP.upper() in sheet
    assert "Dikembalikan" in sheet and "Capaian sasaran 2 belum dianalisis." in sheet
    assert sheet.count("Menyusun draf LKjIP") == 2  # done twice: before and after the return
    pdf = client.get(f"/admin/documents/dossier/{report.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
