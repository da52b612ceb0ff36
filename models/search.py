"""Indexed substring search of the dossier list, one index per database.

Flask-Admin searches ``ILIKE '%word%'`` on the searched columns, a full scan unless indexed.
Both databases index the searched columns and answer every plain word (3 or more characters,
no wildcard or prefix; ``split_search``) from that index; any other word stays Flask-Admin's
LIKE, narrowed by the index to the rows holding its runs of 3 or more characters:

- PostgreSQL: one GIN trigram index (``pg_trgm``) over ``SEARCH_TEXT``, the searched columns
  joined by spaces (migration 0006). A search word holds no space, so it
  matches the joined text exactly where it matches one of the columns. One index, rather than
  one per column: the planner estimated four OR-ed ILIKEs badly and scanned the table for a
  common word (3× the bare list at 20,000 dossiers); the joined text has its own statistics
  (ANALYZE gathers them for an expression index) and one bitmap answers each word.
- SQLite: the FTS5 table ``dossier_search`` with the trigram tokenizer over the same columns
  (external content, kept in step with ``dossier`` by triggers; migration 0003). It is not part
  of the metadata: the list searches it instead of Flask-Admin's LIKE, and counts the matches
  from it alone unless a filter or a LIKE needs the dossier rows (``dossier_rows``).
"""

from __future__ import annotations

import re
from functools import reduce

from sqlalchemy import ColumnElement, Select, column, literal_column, select, table
from sqlalchemy.orm import Query

from .dossier import Dossier

SEARCHED = ("title", "letter_number", "letter_subject", "letter_sender")
FTS_TABLE = "dossier_search"
# The FTS table's own column, named after it, takes the MATCH.
FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))

# The searched columns as one text (none is nullable). The space is a literal, not a bound
# parameter, so that queries and the index share the same expression.
SEARCH_TEXT = reduce(
    lambda text, name: text + literal_column("' '") + Dossier.__table__.c[name],
    SEARCHED[1:],
    Dossier.__table__.c[SEARCHED[0]],
).label("search_text")

# PostgreSQL's GIN trigram index over SEARCH_TEXT, made by migration 0006. It is not declared
# in the metadata: SQLite cannot have it, and Alembic cannot compare an expression index there.
# Every workflow step updates the dossier row (not in place: it changes indexed columns), so
# the index gets entries all the time. GIN queues them in a pending list, by default up to
# 4 MB: after the benchmark's 3,000 updates the planner preferred a full scan (130 ms instead of
# 20 ms). 64 kB, the least, keeps the list short at a small cost per update.
TRIGRAM_INDEX = "ix_dossier_search_trgm"
PENDING_LIST_KB = 64


def split_search(search: str) -> tuple[list[str], str]:
    """A Flask-Admin search split into the runs the index finds, and the words still to
    search with LIKE.

    A plain word of 3 or more characters is a case-insensitive substring, which the trigram
    index finds alone (SQLite's FTS5 case folding covers all of Unicode, like PostgreSQL's
    ILIKE; SQLite's LIKE folds only ASCII). Any other word (a ``^`` or ``=`` prefix, a ``%`` or
    ``_`` wildcard, fewer than 3 characters) stays a LIKE, and its runs of 3 or more characters
    between wildcards only narrow the rows the LIKE reads.
    """
    runs, like_words = [], []
    for word in filter(None, search.split(" ")):
        prefixed = word.startswith(("^", "="))
        if len(word) >= 3 and not prefixed and "%" not in word and "_" not in word:
            candidates = [word]
        else:
            like_words.append(word)
            candidates = re.split("[%_]", word[1:] if prefixed else word)
        runs += [run for run in candidates if len(run) >= 3 and run not in runs]
    return runs, " ".join(like_words)


def fts_query(runs: list[str]) -> str:
    """Runs as an FTS5 query: each a quoted phrase, all of them required (SQLite)."""
    return " AND ".join('"' + run.replace('"', '""') + '"' for run in runs)


def trigram_match(run: str) -> ColumnElement[bool]:
    """The dossiers whose searched text holds ``run``, case-insensitive (PostgreSQL)."""
    escaped = run.replace("\\", "\\\\")  # ILIKE's escape character; runs hold no % or _
    return SEARCH_TEXT.element.ilike(f"%{escaped}%")


def fts_match(query: str) -> ColumnElement[bool]:
    """The FTS table's rows that match an FTS5 query (SQLite)."""
    return FTS.c[FTS_TABLE].match(query)


def fts_matches(query: str) -> Select:
    """The ids of the dossiers that match an FTS5 query (SQLite)."""
    return select(FTS.c.rowid).where(fts_match(query))


def dossier_rows(query: Query) -> Query:
    """A count that reads the FTS table alone, joined to the dossiers (for conditions on them)."""
    froms = query.statement.get_final_froms()
    if len(froms) == 1 and froms[0] is FTS:
        return query.join(Dossier, Dossier.id == FTS.c.rowid)
    return query


def autogenerate_options() -> dict:
    """Alembic comparison options: the search index (the FTS table, the trigram index) is
    not drift: the migrations alone make it. For ``context.configure`` in migrations/env.py
    and ``compare_metadata``."""

    def include_name(name, type_, parent_names) -> bool:
        return not (type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")))

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "index" and name == TRIGRAM_INDEX)

    return {"include_name": include_name, "include_object": include_object}
