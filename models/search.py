"""Indexed substring search of the dossier list, one index per database.

Flask-Admin searches ``ILIKE '%word%'`` on the searched columns, a full scan unless indexed:

- PostgreSQL: GIN trigram indexes (``pg_trgm``) on the searched columns, declared here; ILIKE
  uses them as it is.
- SQLite: the FTS5 table ``dossier_search`` with the trigram tokenizer over the same columns
  (external content, kept in step with ``dossier`` by triggers; migration 0003). It is not part
  of the metadata: the list searches it for every plain word instead of Flask-Admin's LIKE
  (``split_search``), and counts the matches from it alone unless a filter or a LIKE needs
  the dossier rows (``dossier_rows``).
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Index, Select, column, select, table
from sqlalchemy.orm import Query

from .dossier import Dossier

SEARCHED = ("title", "letter_number", "letter_subject", "letter_sender")
FTS_TABLE = "dossier_search"
# The FTS table's own column, named after it, takes the MATCH.
FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))

# Every workflow step updates the dossier row (not in place: it changes indexed columns), so
# these indexes get entries all the time. GIN queues them in a pending list, by default up to
# 4 MB: after the benchmark's 3,000 updates the planner preferred a full scan (130 ms instead of
# 20 ms). 64 kB, the least, keeps the list short at a small cost per update.
PENDING_LIST_KB = 64
TRIGRAM_INDEXES = [
    Index(
        f"ix_dossier_{name}_trgm",
        Dossier.__table__.c[name],
        postgresql_using="gin",
        postgresql_ops={name: "gin_trgm_ops"},
        postgresql_with={"gin_pending_list_limit": PENDING_LIST_KB},
    ).ddl_if(dialect="postgresql")
    for name in SEARCHED
]

TRIGRAM_NAMES = {index.name for index in TRIGRAM_INDEXES}


def split_search(search: str) -> tuple[str | None, str]:
    """A Flask-Admin search for SQLite: an FTS5 query, and the words still to search with LIKE.

    A plain word of 3 or more characters is a case-insensitive substring, which the trigram
    index finds alone: a quoted phrase (its case folding covers all of Unicode, like
    PostgreSQL's ILIKE; SQLite's LIKE folds only ASCII). Any other word (a ``^`` or ``=``
    prefix, a ``%`` or ``_`` wildcard, fewer than 3 characters) stays a LIKE, and its runs of 3
    or more characters between wildcards only narrow the rows the LIKE reads. None: no run
    long enough.
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
    phrases = " AND ".join('"' + run.replace('"', '""') + '"' for run in runs)
    return phrases or None, " ".join(like_words)


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


def autogenerate_options(dialect: str) -> dict:
    """Alembic comparison options: the FTS table and the indexes of another dialect are
    not drift. For ``context.configure`` in migrations/env.py and ``compare_metadata``."""

    def include_name(name, type_, parent_names) -> bool:
        return not (type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")))

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "index" and name in TRIGRAM_NAMES and dialect != "postgresql")

    return {"include_name": include_name, "include_object": include_object}
