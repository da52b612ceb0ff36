"""Fill a benchmark database quickly: dossiers at every step with plausible histories and IKU
content, written with bulk inserts (Core executemany in batches; COPY on PostgreSQL).

Every dossier gets a history that the workflow could have written: steps in SOP order, each
review return followed by the typing step again, dossier versions 1, 2, 3, … on its records,
each record starting when the previous one finished, and working minutes that match the
working calendar (finished = calendar.add_working_minutes(started, minutes)). Open dossiers
are recent (their current step began within the last months, with its due time on the
calendar); finished ones are spread over the past years.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.orm import Session

from iku_admin.calendar import WorkingCalendar
from iku_admin.mutu import rebuild_totals
from models import (
    Dossier,
    Indicator,
    IndicatorTarget,
    Sop,
    StepRecord,
    StrategicObjective,
    User,
)
from models.validation import INDICATOR_UNITS

#: Share of dossiers still open; they are spread evenly over the nine steps, the rest is done.
OPEN_SLOTS, ALL_SLOTS = 9, 20
#: Review rounds per dossier (each adds a "returned" record and the typing step again);
#: chosen so that the average history has about 10 records.
REVISION_WEIGHTS = (0.15, 0.25, 0.25, 0.2, 0.15)
#: Working minutes taken, as a factor of the step's standard time (some steps run late).
TIME_FACTORS = (0.2, 0.5, 0.8, 0.9, 1.0, 1.0, 1.2, 1.5, 2.0, 3.0)
OBJECTIVES = (
    ("Meningkatnya realisasi investasi daerah", 3),
    ("Meningkatnya kualitas pelayanan perizinan", 2),
)
INDICATORS_PER_DOSSIER = sum(n for _name, n in OBJECTIVES)
INDICATOR_NAMES = (
    "Nilai realisasi investasi PMA dan PMDN",
    "Jumlah investor baru yang merealisasikan investasi",
    "Persentase peningkatan nilai investasi",
    "Indeks Kepuasan Masyarakat (IKM)",
    "Persentase izin yang terbit tepat waktu",
)
PLACES = (
    "Tanjung Jabung Barat", "Tanjung Jabung Timur", "Muaro Jambi", "Batanghari", "Sarolangun",
    "Merangin", "Bungo", "Tebo", "Kerinci", "Kota Jambi", "Kota Sungai Penuh", "Banyuasin",
    "Musi Banyuasin", "Ogan Ilir", "Lahat", "Kota Palembang", "Indragiri Hilir", "Kampar",
    "Siak", "Kota Pekanbaru",
)  # fmt: skip
AGENCIES = (
    ("DPMPTSP", "Dinas Penanaman Modal dan PTSP"), ("BAPPEDA", "Badan Perencanaan Daerah"),
    ("DISDIK", "Dinas Pendidikan"), ("DINKES", "Dinas Kesehatan"),
    ("DISPERINDAG", "Dinas Perindustrian dan Perdagangan"), ("DPUPR", "Dinas PUPR"),
    ("DISNAKER", "Dinas Tenaga Kerja"), ("DISHUB", "Dinas Perhubungan"),
)  # fmt: skip
#: The role that does each SOP step -> the username of the person who did it in the history.
DOERS = {"kepala_dinas": "kadis", "sekretaris": "sekretaris", "perencana": "perencana",
         "tim_sakip": "timsakip", "staf": "staf"}  # fmt: skip
FIRST_FINISHED = datetime(2020, 1, 6, tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    id: int
    position: int
    role_id: int
    role_code: str
    standard_minutes: int
    kind: str


@dataclass
class Counts:
    dossiers: int = 0
    records: int = 0
    objectives: int = 0
    indicators: int = 0
    targets: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Filler:
    """Writes dossiers with ids ``start + 1 … start + count``; call ``fill`` repeatedly to grow
    the database (ids of every table continue where the previous call stopped)."""

    def __init__(self, session: Session, now: datetime, batch: int = 1000, seed: int = 8):
        sop = session.scalar(select(Sop).where(Sop.status == "active"))
        self.sop_id, self.sop_version = sop.id, sop.version
        self.steps = {
            s.position: Step(s.id, s.position, s.role_id, s.role.code, s.standard_minutes, s.kind)
            for s in sop.steps
        }
        users = {u.username: u.id for u in session.scalars(select(User))}
        self.doer = {code: users[name] for code, name in DOERS.items()}
        self.created_by = users["staf"]
        self.calendar = WorkingCalendar.from_session(session, "Asia/Jakarta")
        # Every history record asks the calendar for its end: remember each day's office
        # hours instead of recomputing them (the calendar's own logic, only cached).
        self.calendar._periods_utc = functools.lru_cache(maxsize=None)(self.calendar._periods_utc)
        self.now = now
        self.batch = batch
        self.rng = random.Random(seed)
        self.dossiers = self.records = 0

    # --- one dossier ------------------------------------------------------------------------

    def _path(self, slot: int, rounds: int) -> list[tuple[int, str]]:
        """The (position, outcome) of each history record, in order."""
        done = [(1, "done"), (2, "done"), (3, "done"), (4, "done")]
        loop = [(5, "returned"), (4, "done")] * rounds
        if slot < OPEN_SLOTS:  # open, now at step slot + 1
            at = slot + 1
            if at <= 3:
                return done[: at - 1]
            if at == 4:
                return [*done, *loop][: 3 + 2 * rounds]
            if at == 5:
                return [*done, *loop]
            return [*done, *loop, (5, "approved"), *((p, "done") for p in range(6, at))]
        return [*done, *loop, (5, "approved"), *((p, "done") for p in range(6, 10))]

    def _history(self, start: datetime, path: list[tuple[int, str]]) -> list[tuple]:
        """(step, outcome, started, finished, minutes) per record, one after the other."""
        rows, moment = [], start
        for position, outcome in path:
            step = self.steps[position]
            minutes = max(1, round(step.standard_minutes * self.rng.choice(TIME_FACTORS)))
            finished = self.calendar.add_working_minutes(moment, minutes)
            rows.append((step, outcome, moment, finished, minutes))
            moment = finished
        return rows

    def _dossier(self, pk: int, tables: dict[str, list[tuple]], counters: Counts) -> None:
        rng = self.rng
        slot = pk % ALL_SLOTS
        is_open = slot < OPEN_SLOTS
        rounds = rng.choices(range(len(REVISION_WEIGHTS)), REVISION_WEIGHTS)[0]
        path = self._path(slot, rounds)
        rounds = sum(1 for _p, outcome in path if outcome == "returned")
        if is_open:  # registered within the last months; the history must end before now
            created = self.now - timedelta(days=rng.uniform(30, 150), minutes=rng.randint(0, 600))
        else:
            span = (self.now - timedelta(days=60) - FIRST_FINISHED).total_seconds()
            created = FIRST_FINISHED + timedelta(seconds=rng.uniform(0, span))
        history = self._history(created, path)
        while history and history[-1][3] >= self.now:
            created -= history[-1][3] - self.now + timedelta(days=7)
            history = self._history(created, path)
        last = history[-1][3] if history else created
        place = PLACES[pk % len(PLACES)]
        code, agency = AGENCIES[(pk // len(PLACES)) % len(AGENCIES)]
        start_year = min(max(created.year + 1, 2021), 2030)
        period = (start_year, start_year + 4)
        current = self.steps[slot + 1] if is_open else None
        tables["dossier"].append((
            pk, f"IKU {agency} {place} {period[0]}–{period[1]}", *period,
            f"050/{pk}/{code}/{created.year}", created.date() - timedelta(days=3),
            f"Bappeda {place}", f"Penyusunan Indikator Kinerja Utama {agency} {place}",
            self.sop_id, current.id if current else None, "in_progress" if is_open else "done",
            rounds, "" if is_open else f"800/{pk}/{code}/{last.year}",
            "" if is_open else f"Dikirim ke Bappeda {place} dan Inspektorat",
            created, self.created_by, last,
            self.calendar.add_working_minutes(last, current.standard_minutes) if current else None,
            None if is_open else last, len(history) + 1,
        ))  # fmt: skip
        for version, (step, outcome, started, finished, minutes) in enumerate(history, 1):
            self.records += 1
            note = "Perbaiki format tabel dan satuan indikator" if outcome == "returned" else ""
            tables["step_record"].append((
                self.records, pk, version, step.id, step.position, self.doer[step.role_code],
                step.role_id, outcome, note, started, finished, minutes, step.standard_minutes,
                self.sop_version,
            ))  # fmt: skip
        counters.records += len(history)
        indicator_no = 0
        for order, (name, size) in enumerate(OBJECTIVES, 1):
            objective_id = (pk - 1) * len(OBJECTIVES) + order
            tables["strategic_objective"].append((objective_id, pk, name, order, 1))
            for n in range(1, size + 1):
                indicator_id = (pk - 1) * INDICATORS_PER_DOSSIER + indicator_no + 1
                unit = INDICATOR_UNITS[(pk + indicator_no) % len(INDICATOR_UNITS)]
                tables["indicator"].append((
                    indicator_id, objective_id, INDICATOR_NAMES[indicator_no],
                    "Realisasi dibagi target dikali 100%", unit, "max" if n % 2 else "min",
                    str(50 + pk % 50), "Laporan LKPM (OSS RBA)", f"Kepala Bidang {n}", n, 1,
                ))  # fmt: skip
                for offset, year in enumerate(range(period[0], period[1] + 1)):
                    tables["indicator_target"].append((
                        (indicator_id - 1) * 5 + offset + 1, indicator_id, year,
                        Decimal(60 + offset * 2 + pk % 7), 1,
                    ))  # fmt: skip
                indicator_no += 1
        counters.objectives += len(OBJECTIVES)
        counters.indicators += INDICATORS_PER_DOSSIER
        counters.targets += INDICATORS_PER_DOSSIER * 5

    # --- writing ----------------------------------------------------------------------------

    def fill(self, connection: Connection, count: int) -> Counts:
        """Add ``count`` dossiers with their histories and IKU content; return what was written.

        Commits after every batch, so memory stays flat whatever ``count`` is.
        """
        total = Counts()
        end = self.dossiers + count
        while self.dossiers < end:
            size = min(self.batch, end - self.dossiers)
            tables: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
            for pk in range(self.dossiers + 1, self.dossiers + size + 1):
                self._dossier(pk, tables, total)
            for name, rows in tables.items():
                write(connection, TABLES[name], rows)
            connection.commit()
            self.dossiers += size
            total.dossiers += size
        return total


# The columns the filler writes, in the order of its tuples.
COLUMNS: dict[str, tuple[str, ...]] = {
    "dossier": (
        "id", "title", "period_start", "period_end", "letter_number", "letter_date",
        "letter_sender", "letter_subject", "sop_id", "current_step_id", "status",
        "revision_round", "outgoing_agenda_number", "distribution_record", "created_at",
        "created_by_id", "step_started_at", "step_due_at", "finished_at", "version",
    ),
    "step_record": (
        "id", "dossier_id", "dossier_version", "step_id", "position", "user_id", "role_id",
        "outcome", "note", "started_at", "finished_at", "working_minutes", "standard_minutes",
        "sop_version",
    ),
    "strategic_objective": ("id", "dossier_id", "name", "order", "row_version"),
    "indicator": (
        "id", "objective_id", "name", "definition", "unit", "polarity", "baseline",
        "data_source", "responsible", "order", "row_version",
    ),
    "indicator_target": ("id", "indicator_id", "year", "target", "row_version"),
}  # fmt: skip
TABLES: dict[str, Table] = {
    model.__table__.name: model.__table__
    for model in (Dossier, StepRecord, StrategicObjective, Indicator, IndicatorTarget)
}


def write(connection: Connection, table: Table, rows: list[tuple]) -> None:
    """Bulk-insert rows (tuples in ``COLUMNS`` order): COPY on PostgreSQL, else executemany."""
    if not rows:
        return
    names = COLUMNS[table.name]
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        quoted = ", ".join(f'"{name}"' for name in names)
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])


def finish(connection: Connection) -> None:
    """The histories bypassed the workflow: rebuild the dashboard's totals from them. After
    explicit ids: move PostgreSQL's id sequences past them, and refresh the planner's
    statistics the way autovacuum would on a live server (SQLite is left as the app leaves it:
    nothing runs ANALYZE there)."""
    rebuild_totals(connection)
    connection.commit()
    if connection.dialect.name != "postgresql":
        return
    for name in TABLES:
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                 f"(SELECT coalesce(max(id), 1) FROM \"{name}\"))")
        )  # fmt: skip
    connection.commit()
    raw = connection.connection.driver_connection
    autocommit, raw.autocommit = raw.autocommit, True
    try:
        raw.execute("VACUUM ANALYZE")
    finally:
        raw.autocommit = autocommit


def table_sizes(session: Session) -> dict[str, int]:
    """Rows per filled table."""
    return {
        name: session.scalar(select(func.count()).select_from(table))
        for name, table in TABLES.items()
    }
