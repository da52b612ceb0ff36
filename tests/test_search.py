"""The dossier list's search is indexed (a trigram GIN index on PostgreSQL, an FTS5 table on SQLite)
and finds exactly what Flask-Admin's ILIKE search finds: every word of the search in some
searched column, case-insensitive, ``%`` and ``_`` wildcards, ``^`` and ``=`` prefixes."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import StatementCounter, login, make_dossier
from flask_migrate import downgrade, upgrade
from sqlalchemy import and_, delete, event, func, inspect, select, text, update
from test_backup import backup, restore
from test_migrations import script_directory

from iku_admin import workflow
from models import Base, Dossier
from models.search import (
    FTS_TABLE,
    PENDING_LIST_KB,
    SEARCHED,
    TRIGRAM_INDEX,
    fts_query,
    split_search,
    trigram_match,
)

REVISION = "0003_search_indexes"
SHADOW_TABLES = {f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "config")}
TRIGGERS = {f"{FTS_TABLE}_{change}" for change in ("insert", "update", "delete")}

# (title, letter_number, letter_subject, letter_sender)
ROWS = [
    ("IKU 2026–2030 Dinas Penanaman Modal", "050/001/2026", "Penyusunan IKU", "Bappeda"),
    ("Perubahan IKU Kabupaten SAROLANGUN", "050/77777/2026", "Revisi", "Bupati Sarolangun"),
    ("iku perubahan sarolangun", "800/12/X", "Rencana Strategis", "Sekretariat Daerah"),
    ("Berkas \"kutipan\" dan 'petik'", "050/002/2026", "Jum'at O'Brien", "Dinas PU"),
    ("Capaian 50% target, 100_persen", "050_003", "Diskon 50 % dan 50%", "Inspektorat"),
    ("Kata *bintang* dan -minus- NEAR AND OR NOT", "A-1", "NEAR(a b) title:x {c}", "BPKAD"),
    ("IKU_2026 Tanjung Jabung Barat", "ab/cd", "ab", "Kab. Tanjung Jabung Barat"),
    ("Rencana kerja Dinas Kesehatan", "441/9/DINKES", "Penetapan IKU 2026-2030", "Dinkes"),
    ("Berkas «uji» ✓ Ña’ima — 日本", "050/004/2026", "Surat ÀÉÎ", "Dinas Pariwisata"),
    ("Laporan kinerja", "050/005/2026", "ABCabc", "Sekretariat DPRD"),
    ("Lain-lain", "x", "y", "z"),
]
SEARCHES = [
    "sarolangun",
    "SAROLANGUN",
    "SaRoLaNgUn iku",
    "iku 2026",
    "iku  2026",  # two spaces: an empty word is skipped
    "bappeda penyusunan",
    "penyusunan iku bappeda 2026",
    "dinas",
    "ab",  # two letters: no trigram, the LIKE alone
    "a",
    "ab cd",
    "abc",
    "x",
    '"kutipan"',
    '"kutipan',
    'n"d',
    '"',
    'n"',
    "'petik'",
    "jum'at",
    "o'brien",
    "50%",
    "50 %",
    "%",
    "100_persen",
    "100_p",
    "2026%2030",
    "iku_2026",
    "_",
    "*",
    "*bintang*",
    "bintang*",
    "-minus-",
    "-",
    "NEAR",
    "near(a",
    "AND",
    "OR NOT",
    "title:x",
    "{c}",
    "^iku",
    "^perubahan",
    "=bappeda",
    "=Dinas",
    "^",
    "=",
    "050/",
    "/77777/",
    "050/001/2026",
    "kab. tanjung",
    "jabung barat",
    "«uji»",
    "Ña’ima",
    "日本",
    "ÀÉÎ",
    "—",
    "tidak ada",
    "zzzzzz",
]


def like(pattern: str) -> re.Pattern:
    """A LIKE pattern as a regular expression (``%`` any run, ``_`` one character)."""
    parts = ["." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def expected(rows: dict[int, tuple], search: str) -> list[int]:
    """Flask-Admin's search, in Python: every word matches some column."""
    patterns = []
    for word in filter(None, search.split(" ")):
        if word.startswith("^"):
            patterns.append(like(word[1:] + "%"))
        elif word.startswith("="):
            patterns.append(like(word[1:]))
        else:
            patterns.append(like(f"%{word}%"))
    return sorted(
        (pk for pk, values in rows.items()
         if all(any(p.fullmatch(v) for v in values) for p in patterns)),
        reverse=True,
    )  # fmt: skip


def shown(html: str) -> list[int]:
    """The ids on a list page."""
    return [int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+):', html)]


def count_shown(html: str) -> int:
    """The count a list page shows next to its title (none: 0)."""
    count = re.search(r'class="nav-link active">[^<(]*\((\d+)\)', html)
    return int(count.group(1)) if count else 0


def listed(client, search: str) -> tuple[list[int], int]:
    """The ids on the dossier list for a search (newest first) and the count it shows."""
    html = client.get("/admin/dossier/", query_string={"search": search, "page_size": 100}).text
    return shown(html), count_shown(html)


@pytest.fixture
def dossiers(app, db, people) -> dict[int, tuple]:
    made = {}
    for title, number, subject, sender in ROWS:
        dossier = make_dossier(title=title, letter_number=number, letter_subject=subject,
                               letter_sender=sender)  # fmt: skip
        made[dossier.id] = (title, number, subject, sender)
    return made


def test_search_finds_what_flask_admins_ilike_finds(client, db, dossiers):
    login(client, "staf")
    for search in SEARCHES:
        want = expected(dossiers, search)
        assert listed(client, search) == (want, len(want)), search
    assert expected(dossiers, "sarolangun") == sorted(list(dossiers)[1:3], reverse=True)


def test_search_keeps_the_statement_count(client, db, dossiers):
    login(client, "staf")
    client.get("/admin/dossier/")
    counts = []
    for search in ("", "sarolangun", "ab", "iku 2026 bappeda"):
        with StatementCounter(db.engine) as counter:
            assert client.get("/admin/dossier/", query_string={"search": search}).status_code == 200
        counts.append(counter.count)
    assert len(set(counts)) == 1, counts


def test_changed_and_deleted_dossiers_are_found_by_their_current_text(client, db, dossiers):
    login(client, "staf")
    first, second, *_rest = dossiers
    dossier = db.session.get(Dossier, first)
    dossier.title = "Judul Baru Merangin"
    db.session.commit()
    db.session.execute(
        update(Dossier).where(Dossier.id == second).values(letter_sender="Pengirim Kerinci")
    )
    db.session.commit()
    assert listed(client, "merangin")[0] == [first]
    assert listed(client, "kerinci")[0] == [second]
    assert listed(client, "Modal")[0] == []  # the old title
    assert listed(client, "Bupati")[0] == []  # the old sender
    # A change of other columns leaves the search as it was.
    db.session.execute(update(Dossier).where(Dossier.id == first).values(revision_round=3))
    db.session.commit()
    assert listed(client, "merangin")[0] == [first]

    newest = make_dossier(title="Berkas Bungo")
    assert listed(client, "bungo")[0] == [newest.id]
    db.session.execute(delete(Dossier).where(Dossier.id == newest.id))
    db.session.commit()
    assert listed(client, "bungo") == ([], 0)
    check_fts(db)


def test_search_with_a_filter_counts_the_filtered_rows(client, db, dossiers, people):
    login(client, "staf")
    moved = db.session.get(Dossier, expected(dossiers, "sarolangun")[0])
    workflow.complete(moved, people["kadis"], note="Lanjut")
    at_step = {1: [i for i in expected(dossiers, "sarolangun") if i != moved.id], 2: [moved.id]}
    for step, ids in at_step.items():
        for search in ("sarolangun", "sarolangun ^", "sarol%"):  # FTS alone, and with a LIKE
            page = client.get("/admin/dossier/", query_string={"search": search, "flt0_0": step})
            assert (shown(page.text), count_shown(page.text)) == (ids, len(ids)), search


def check_fts(db) -> None:
    """On SQLite: the FTS index holds exactly the dossiers' current text (raises if not)."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(
            text(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
        )


def list_statements(client, db, search: str) -> list[tuple[str, object]]:
    """The SQL statements (with their parameters) of the dossier list for a search."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/admin/dossier/", query_string={"search": search})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return [(s, p) for s, p in seen if "FROM dossier" in s and re.search("LIKE|MATCH", s)]


def test_search_uses_the_index(client, db, dossiers):
    login(client, "staf")
    count, page = list_statements(client, db, "/77777/ sarolangun")
    connection = db.session.connection()
    for statement, parameters in (count, page):
        if db.engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " / ".join(row[-1] for row in plan)
            assert f"SCAN {FTS_TABLE} VIRTUAL TABLE INDEX 0:M" in plan, statement
            # The count reads the FTS index alone, not the dossiers.
            assert ("SEARCH dossier" in plan) == (statement == page[0]), plan
        else:
            connection.exec_driver_sql("ANALYZE dossier")
            # On a table this small a scan is cheaper; make it the last resort.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
            plan = str(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all())
            assert f"Bitmap Index Scan on {TRIGRAM_INDEX}" in plan, plan
    db.session.rollback()


def test_the_trigram_index_keeps_a_short_pending_list(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("GIN indexes are PostgreSQL's")
    options = db.session.execute(
        text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
        {"names": [TRIGRAM_INDEX]},
    ).all()
    assert dict(options) == {TRIGRAM_INDEX: [f"gin_pending_list_limit={PENDING_LIST_KB}"]}


def test_plain_words_are_phrases_and_the_others_stay_like():
    runs, like_words = split_search('ab "kutip" 50%x _IKU_ ^pre =ex a-b*c NEAR  ')
    assert (fts_query(runs), like_words) == (
        '"""kutip""" AND "IKU" AND "pre" AND "a-b*c" AND "NEAR"',
        "ab 50%x _IKU_ ^pre =ex",
    )
    assert split_search("2026%2030 iku_2026 ab iku") == (["2026", "2030", "iku"],
                                                       "2026%2030 iku_2026 ab")  # fmt: skip
    assert split_search("ab  x % _") == ([], "ab x % _")


def test_a_common_word_does_not_scan_the_table(db):
    """At 20,000 dossiers a word in 5 % of them is found through the index, for the count as
    for the page (with one index per column the planner scanned the table: 3× the bare list)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the planner's choice is PostgreSQL's; SQLite: test_search_uses_the_index")
    template = make_dossier()
    columns = ", ".join(c.name for c in Dossier.__table__.c if c.name not in ("id", *SEARCHED))
    db.session.execute(text(
        f"INSERT INTO dossier (title, letter_number, letter_subject, letter_sender, {columns}) "
        "SELECT 'IKU Dinas Penanaman Modal dan PTSP ' || place || ' 2027–2031', "
        "'050/' || n || '/DPMPTSP/2026', 'Penyusunan Indikator Kinerja Utama ' || place, "
        f"'Bappeda ' || place, {columns} FROM dossier, generate_series(1, 20000) AS n, "
        "LATERAL (SELECT CASE WHEN n % 20 = 0 THEN 'Sarolangun' ELSE 'Kabupaten ' || n % 97 "
        "END AS place) AS p WHERE dossier.id = :id"
    ), {"id": template.id})  # fmt: skip
    db.session.commit()
    connection = db.session.connection()
    connection.exec_driver_sql("ANALYZE dossier")
    match = and_(*(trigram_match(run) for run in split_search("Sarolangun")[0]))
    for statement in (
        select(func.count()).select_from(Dossier).where(match),
        select(Dossier.id).where(match).order_by(Dossier.id.desc()).limit(20),
    ):
        compiled = statement.compile(connection)
        plan = " ".join(
            connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
        )
        assert "Seq Scan" not in plan, plan
    assert (
        connection.execute(select(func.count()).select_from(Dossier).where(match)).scalar() == 1000
    )
    db.session.rollback()


def test_models_and_migrations_agree_except_for_the_search_index(app, db):
    with db.engine.connect() as conn:
        plain = MigrationContext.configure(conn, opts={"compare_type": True})
        drift = compare_metadata(plain, Base.metadata)
        if conn.dialect.name == "sqlite":  # the FTS table
            assert {(d[0], d[1].name) for d in drift} == {
                ("remove_table", name) for name in (FTS_TABLE, *SHADOW_TABLES)
            }
        else:  # the trigram index
            assert [(d[0], d[1].name) for d in drift] == [("remove_index", TRIGRAM_INDEX)]
    # With autogenerate_options no drift is left: test_migrations.test_models_and_migrations_agree


def search_objects(db) -> set[str]:
    """The search index's objects in the database."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = conn.exec_driver_sql(
                f"SELECT name FROM sqlite_master WHERE name LIKE '{FTS_TABLE}%'"
            ).scalars()
            return set(found)
        indexes = {i["name"] for i in inspect(conn).get_indexes("dossier")} & {TRIGRAM_INDEX}
        extension = conn.exec_driver_sql("SELECT extname FROM pg_extension WHERE extname = "
                                         "'pg_trgm'").scalars()  # fmt: skip
        return indexes | set(extension)


def test_downgrade_removes_the_search_index(app, db, dossiers, client):
    previous = script_directory(app).get_revision(REVISION).down_revision
    created = search_objects(db)
    if db.engine.dialect.name == "sqlite":
        assert created == {FTS_TABLE, *SHADOW_TABLES, *TRIGGERS}
    else:
        assert created == {TRIGRAM_INDEX, "pg_trgm"}
    db.session.remove()
    downgrade(revision=previous)
    assert search_objects(db) == set()
    upgrade()  # the index is built from the dossiers already there
    assert search_objects(db) == created
    login(client, "staf")
    want = expected(dossiers, "sarolangun iku")
    assert listed(client, "sarolangun iku") == (want, len(want))


@pytest.mark.parametrize("column", SEARCHED)
def test_each_searched_column_is_indexed(client, db, dossiers, column):
    dossier = db.session.get(Dossier, next(iter(dossiers)))
    setattr(dossier, column, f"Kolom {column} Muarojambi")
    db.session.commit()
    login(client, "staf")
    assert listed(client, "muarojambi")[0] == [dossier.id]
    assert listed(client, f"{column} muaro")[0] == [dossier.id]


def test_a_restored_backup_is_searchable(app, client, db, dossiers, tmp_path):
    path = tmp_path / "iku.zip"
    backup(app, path)
    make_dossier(title="Sarolangun, made after the backup")
    db.session.remove()
    assert restore(app, path, "--force", "--yes").exit_code == 0
    login(client, "staf")
    want = expected(dossiers, "sarolangun")
    assert listed(client, "sarolangun") == (want, len(want))
    check_fts(db)
