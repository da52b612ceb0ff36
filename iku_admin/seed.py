"""Reference data: the six roles, their permissions and the SOP sheet; plus the demo accounts
and dossiers.

Every function here is idempotent: running it again changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from models import (
    Dossier,
    Indicator,
    IndicatorTarget,
    IndicatorUnit,
    OfficeDay,
    Procedure,
    Role,
    Sop,
    SopStep,
    StrategicObjective,
    User,
)
from models.validation import INDICATOR_UNITS

from . import workflow
from .auth import ROLE_NAMES, seed_permissions
from .calendar import DEFAULT_WEEK
from .letterhead import seed_agency
from .requirements import IKU_CONTENT

SOP_HEADER = {
    "number": "503/2021/DPM PTSP",
    "name": "Penyusunan Indikator Kinerja Utama (IKU)",
    "version": 1,
    "government": "Pemerintah Kabupaten Tanjung Jabung Barat",
    "agency": "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
    "made_on": "Januari 2022",
    "revised_on": "",
    "ratified_on": "Januari 2022",
    "ratified_by_title": "Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu "
    "Kabupaten Tanjung Jabung Barat",
    "ratified_by_name": "H. YAN ERY, S.Pt, M.Si",
    "ratified_by_nip": "197009301997031003",
    "legal_basis": (
        "1. Peraturan Presiden Nomor 8 Tahun 2006 tentang Pelaporan Keuangan dan Kinerja "
        "Instansi Pemerintah\n"
        "2. Peraturan Presiden Nomor 29 Tahun 2014 tentang Sistem Akuntabilitas Kinerja "
        "Instansi Pemerintah\n"
        "3. Peraturan MenPAN dan Reformasi Birokrasi Nomor 53 Tahun 2014 tentang Petunjuk "
        "Teknis Perjanjian Kinerja, Pelaporan Kinerja dan Tata Cara Reviu atas Laporan "
        "Kinerja Instansi Pemerintah"
    ),
    "qualifications": (
        "1. Memiliki kemampuan pengolahan data\n"
        "2. Memahami penyusunan Indikator Kinerja Utama (IKU)\n"
        "3. Memahami instrumen-instrumen dalam Sistem Akuntabilitas Kinerja Instansi Pemerintah"
    ),
    "related_sops": (
        "1. SOP Laporan Akuntabilitas Kinerja Instansi Pemerintah\n2. Keterkaitan OPD"
    ),
    "equipment": "1. Komputer\n2. Jaringan Internet\n3. Data Realisasi Kegiatan",
    "warning": "",
    "records": "Disimpan sebagai data",
}

_IKU = "Indikator Kinerja Utama"
# position, activity, role, input, output, time value, unit, kind, returns to, notes,
# requirements (Kelengkapan checked before the step can be finished: names from
# iku_admin/requirements.py), action label (the verb on the button that finishes the step)
SOP_STEPS = [
    (1, "Memerintahkan untuk menyusun Indikator Kinerja Utama", "kepala_dinas",
     "Surat masuk", "Disposisi pada surat masuk", 10, "menit", "task", None, "", [],
     "Beri Perintah"),
    (2, "Memerintahkan untuk menyusun Indikator Kinerja Utama, memberikan pengarahan",
     "sekretaris", "Disposisi pada surat masuk", "Disposisi pada surat masuk", 20, "menit",
     "task", None, "", [],
     "Beri Pengarahan"),
    (3, "Menyusun konsep Indikator Kinerja Utama", "tim_sakip", "Disposisi pada surat masuk",
     f"Konsep {_IKU}", 1, "hari", "task", None, "", [IKU_CONTENT],
     "Susun Konsep"),
    (4, "Mengetik konsep Indikator Kinerja Utama", "staf", f"Konsep {_IKU}",
     f"Konsep {_IKU}", 1, "hari", "task", None, "", [IKU_CONTENT],
     "Ketik Konsep"),
    (5, "Memeriksa ketikan konsep Indikator Kinerja Utama; bila setuju diserahkan ke Analis "
     "Perencana, jika tidak diserahkan ke staf untuk diperbaiki", "sekretaris", _IKU, _IKU,
     30, "menit", "review", 4, "", [],
     "Periksa"),
    (6, "Pemberian paraf", "perencana", _IKU, f"{_IKU} yang sudah diparaf", 30, "menit",
     "task", None, "", [],
     "Beri Paraf"),
    (7, "Pemberian tanda tangan", "kepala_dinas", f"{_IKU} yang sudah diparaf",
     f"{_IKU} yang sudah ditandatangani", 1, "hari", "task", None, "", [],
     "Tandatangani"),
    (8, "Memerintahkan untuk mengagendakan, menggandakan dan mendistribusikan", "sekretaris",
     f"{_IKU} yang sudah ditandatangani", f"{_IKU} yang sudah ditandatangani", 5, "menit",
     "task", None, "", [],
     "Perintahkan Distribusi"),
    (9, "Mengagendakan, menggandakan dan mendistribusikan", "staf",
     f"{_IKU} yang sudah ditandatangani", "Agenda surat keluar, bukti pengiriman", 15,
     "menit", "task", None, "SOP Pengagendaan Surat Keluar dan SOP Caraka",
     ["outgoing_agenda_number", "distribution_record"],
     "Agendakan dan Distribusikan"),
]  # fmt: skip
# Who signs the IKU document (the head of agency, at step 7) and who initials it (the
# secretary who approved it at the review, and the planner): position -> signature.
SOP_SIGNATURES = {5: "initial", 6: "initial", 7: "sign"}


def seed(session: Session) -> Sop:
    """Create the roles with their default permissions, the agency, the office hours, the
    indicator units and SOP version 1 if they are missing; return the SOP."""
    seed_agency(session)
    seed_office_hours(session)
    seed_units(session)
    roles = {role.code: role for role in session.scalars(select(Role))}
    created = {}
    for code, name in ROLE_NAMES.items():
        if code not in roles:
            roles[code] = created[code] = Role(code=code, name=name)
            session.add(roles[code])
    seed_permissions(session, created)
    sop = session.scalar(select(Sop).where(Sop.number == SOP_HEADER["number"], Sop.version == 1))
    if sop is None:
        procedure = Procedure(name=SOP_HEADER["name"], carries_iku=True, is_default=True)
        sop = Sop(**SOP_HEADER, procedure=procedure, status="active")
        returns = []
        for row in SOP_STEPS:
            (position, activity, role, given, output, value, unit, kind, back, notes, need,
             label) = row  # fmt: skip
            sop.steps.append(
                SopStep(
                    position=position, activity=activity, role=roles[role], input=given,
                    output=output, time_value=value, time_unit=unit, kind=kind, notes=notes,
                    requirements=need, action_label=label,
                    signature=SOP_SIGNATURES.get(position, ""),
                )
            )  # fmt: skip
            returns.append((sop.steps[-1], back))
        session.add(sop)
        session.flush()  # the steps in order first (their ids follow the positions)
        by_position = {step.position: step for step in sop.steps}
        for step, back in returns:
            step.return_to = by_position.get(back)
    session.commit()
    return sop


def seed_units(session: Session) -> None:
    """The indicator units of ``INDICATOR_UNITS``, if there are none."""
    if session.scalar(select(IndicatorUnit.id).limit(1)) is None:
        session.add_all(IndicatorUnit(name=name) for name in INDICATOR_UNITS)


def seed_office_hours(session: Session) -> None:
    """The weekly office hours of ``calendar.DEFAULT_WEEK``, if none are set."""
    if session.scalar(select(OfficeDay.weekday).limit(1)) is not None:
        return
    for weekday, hours in DEFAULT_WEEK.items():
        day = OfficeDay(weekday=weekday, working=hours is not None)
        if hours is not None:
            day.start, day.finish = hours.start, hours.end
            day.break_start, day.break_end = hours.break_start, hours.break_end
        session.add(day)


DEMO_PASSWORD = "demo-IKU-2026"
DEMO_USERS = [
    # username, role, full name, NIP, position, rank (pangkat/golongan)
    ("kadis", "kepala_dinas", "H. Yan Ery, S.Pt, M.Si", "197009301997031003", "Kepala Dinas",
     "Pembina Utama Muda (IV/c)"),
    ("sekretaris", "sekretaris", "Dra. Siti Aminah, M.M.", "197204151998032004", "Sekretaris",
     "Pembina Tingkat I (IV/b)"),
    ("perencana", "perencana", "Budi Santoso, S.E.", "198508122010011002",
     "Analis Perencana", "Penata (III/c)"),
    ("timsakip", "tim_sakip", "Rina Marlina, S.Sos", "199003252015032001", "Ketua Tim SAKIP",
     "Penata Muda Tingkat I (III/b)"),
    ("staf", "staf", "Ahmad Fauzi", "199511072020121003", "Pengadministrasi Umum",
     "Pengatur (II/c)"),
    ("admin", "admin", "Admin TI", None, "Pranata Komputer", ""),
]  # fmt: skip

# The demo letterhead: sample contact lines and a stand-in emblem (a plain shield, not a
# real regional emblem; the admin uploads the real one under System > Agency).
DEMO_AGENCY = {
    "address": "Jalan Contoh Nomor 1, Kuala Tungkal 36512",
    "phone": "(0742) 000000",
    "email": "dpmptsp@example.org",
    "website": "dpmptsp.example.org",
}
DEMO_EMBLEM = b"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 120">
<path d="M50 4 L94 18 L94 62 C94 92 72 108 50 116 C28 108 6 92 6 62 L6 18 Z"
 fill="#f2c12e" stroke="#1b5e20" stroke-width="5"/>
<path d="M18 64 H82 C80 86 66 98 50 104 C34 98 20 86 18 64 Z" fill="#2e7d32"/>
<path d="M22 76 Q36 70 50 76 T78 76" fill="none" stroke="#90caf9" stroke-width="4"/>
<path d="M50 18 L56 36 L75 36 L60 47 L66 65 L50 54 L34 65 L40 47 L25 36 L44 36 Z"
 fill="#c62828"/>
</svg>
"""

DEMO_IKU = [
    ("Meningkatnya realisasi investasi daerah", [
        ("Nilai realisasi investasi PMA dan PMDN", "Jumlah nilai realisasi investasi PMA dan "
         "PMDN menurut laporan LKPM dalam satu tahun", "Miliar Rupiah", "850",
         "Laporan LKPM (OSS RBA)", "Kepala Bidang Pengembangan Iklim dan Promosi Penanaman Modal",
         [900, 950, 1000, 1050, 1100]),
    ]),
    ("Meningkatnya kualitas pelayanan perizinan", [
        ("Indeks Kepuasan Masyarakat (IKM)", "Hasil survei kepuasan masyarakat sesuai "
         "PermenPAN-RB 14/2017", "Indeks", "82,5", "Laporan Survei Kepuasan Masyarakat",
         "Kepala Bidang Pelayanan Perizinan", [83, 84, 85, 86, 87]),
        ("Persentase izin yang terbit tepat waktu", "Jumlah izin terbit tepat waktu dibagi "
         "jumlah izin terbit x 100%", "Persen", "92", "Aplikasi OSS dan SiCantik",
         "Kepala Bidang Pelayanan Perizinan", [93, 94, 95, 96, 97]),
    ]),
]  # fmt: skip


def demo(session: Session) -> list[str]:
    """Create the demo accounts and sample dossiers if missing; return the usernames made."""
    seed(session)
    roles = {role.code: role for role in session.scalars(select(Role))}
    made = []
    for username, role, full_name, nip, position, rank in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            user = User(
                username=username, full_name=full_name, nip=nip, position=position, rank=rank
            )
            user.set_password(DEMO_PASSWORD)
            user.roles.append(roles[role])
            session.add(user)
            made.append(username)
    agency = seed_agency(session)
    if agency.emblem is None:
        agency.emblem, agency.emblem_type = DEMO_EMBLEM, "image/svg+xml"
        for field, value in DEMO_AGENCY.items():
            setattr(agency, field, getattr(agency, field) or value)
    session.flush()
    if session.scalar(select(Dossier.id).limit(1)) is None:
        _demo_dossiers(session)
    session.commit()
    return made


def demo_objectives(years: list[int]) -> list[StrategicObjective]:
    """The sample IKU content (objectives, indicators, a target for each year), not yet saved."""
    objectives = []
    for order, (objective, indicators) in enumerate(DEMO_IKU, start=1):
        so = StrategicObjective(name=objective, order=order)
        for i, (name, definition, unit, base, source, owner, targets) in enumerate(
            indicators, start=1
        ):
            so.indicators.append(
                Indicator(
                    name=name, definition=definition, unit=unit, baseline=base,
                    data_source=source, responsible=owner, order=i,
                    targets=[
                        IndicatorTarget(year=year, target=Decimal(value))
                        for year, value in zip(years, targets, strict=True)
                    ],
                )
            )  # fmt: skip
        objectives.append(so)
    return objectives


def _demo_dossiers(session: Session) -> None:
    """Three sample dossiers: one finished (with a return at the review), one waiting at the
    review, one new; so that every screen and chart has something to show."""
    staf = session.scalar(select(User).where(User.username == "staf"))
    titles = [
        ("IKU DPMPTSP 2026–2030", (2026, 2030)),
        ("Reviu IKU DPMPTSP 2025–2029", (2025, 2029)),
        ("IKU DPMPTSP 2027–2031", (2027, 2031)),
    ]
    for n, (title, period) in enumerate(titles, start=1):
        dossier = Dossier(
            title=title, period_start=period[0], period_end=period[1],
            letter_number=f"050/{n:03d}/BAPPEDA/2026", letter_date=date(2026, 1, 5 + n),
            letter_sender="Bappeda Kabupaten Tanjung Jabung Barat",
            letter_subject="Penyusunan Indikator Kinerja Utama Perangkat Daerah",
        )  # fmt: skip
        # As every new dossier: pinned to the SOP, at its first step, with its due time.
        workflow.start_dossier(session, dossier, staf)
        dossier.objectives.extend(demo_objectives(dossier.years))
        session.add(dossier)
    session.commit()
    by_role = {
        role: session.scalar(select(User).where(User.username == username))
        for username, role, *_rest in DEMO_USERS
    }
    finished, waiting = session.scalars(select(Dossier).order_by(Dossier.id)).all()[:2]
    _walk(finished, by_role, until=None)
    _walk(waiting, by_role, until=5)


def _walk(dossier: Dossier, by_role: dict, until: int | None) -> None:
    """Move a dossier along its SOP as its people would, returning once at the review."""
    returned = False
    while dossier.status != "done":
        step = dossier.current_step
        if step.position == until:
            return
        user = by_role[step.role.code]
        if step.kind == "review":
            if not returned:
                workflow.return_for_revision(dossier, user, "Perbaiki format tabel target.")
                returned = True
            else:
                workflow.approve(dossier, user, "Sudah sesuai.")
        else:
            if "outgoing_agenda_number" in step.requirements:
                dossier.outgoing_agenda_number = "050/112/DPMPTSP/2026"
                dossier.distribution_record = "Dikirim ke Bappeda, Inspektorat dan BPKAD"
                object_session(dossier).commit()  # saved as staf would, before finishing
            workflow.complete(dossier, user, "")
