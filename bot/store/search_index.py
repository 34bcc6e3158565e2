"""SQL of the catalogue's full-text index: an in-memory SQLite FTS5 table, rebuilt on every load.

The index is small (hundreds, at most tens of thousands of rows) and rebuilt from the YAML
catalogue, so it lives in its own ``:memory:`` database with a synchronous connection: a query
takes well under a millisecond and never touches the bot's persistent store.

Callers hand in *already normalised* column texts (space-separated lemmas) and a ready MATCH
expression built from quoted terms only (see ``bot.features.search.query``); no user text reaches
SQL unquoted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Column order of the FTS table and each column's bm25 weight. Each field has two columns: its
# words' lemmas, and "…_parts": the same words with compounds replaced by their parts, in order
# (plus synonym-group tokens), so that compound parts can be matched close together. Title and
# topics outrank the description; a part counts a little less than the word as written.
COLUMNS: tuple[tuple[str, float], ...] = (
    ("titel", 10.0),
    ("titel_parts", 8.0),
    ("themen", 8.0),
    ("themen_parts", 6.0),
    ("zielgruppen", 2.0),
    ("zielgruppen_parts", 1.5),
    ("merkmale", 2.0),
    ("merkmale_parts", 1.5),
    ("anbieter", 3.0),
    ("anbieter_parts", 2.0),
    ("beschreibung", 1.0),
    ("beschreibung_parts", 0.7),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)

_SCHEMA = f"""
CREATE VIRTUAL TABLE offering_fts USING fts5(
    {", ".join(COLUMN_NAMES)},
    tokenize = "unicode61 remove_diacritics 0"
);
CREATE TABLE offering_meta (
    docid INTEGER PRIMARY KEY,
    typ TEXT NOT NULL,
    format TEXT NOT NULL,
    free INTEGER NOT NULL
);
CREATE TABLE offering_facet (
    docid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (kind, key, docid)
) WITHOUT ROWID;
"""

_INSERT_FTS = "INSERT INTO offering_fts (rowid, {}) VALUES ({})".format(
    ", ".join(COLUMN_NAMES), ", ".join("?" for _ in range(len(COLUMN_NAMES) + 1))
)
_BM25 = "bm25(offering_fts, {})".format(", ".join(str(w) for _, w in COLUMNS))


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with FTS5 (the index cannot work without it)."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


@dataclass(frozen=True)
class IndexedOffering:
    """One row of the index: normalised column texts plus the facets filters look at.

    Docids double as the tie-break order (the caller numbers entries alphabetically by title)."""

    docid: int
    columns: dict[str, str]  # column name → space-separated stems
    typ: str
    format: str
    free: bool
    facets: dict[str, frozenset[str]] = field(default_factory=dict)  # kind → folded keys


@dataclass(frozen=True)
class RowFilter:
    """Restrictions on rows. Within one set any value may match; all given sets must match."""

    types: frozenset[str] | None = None
    formats: frozenset[str] | None = None
    free_only: bool = False
    facets: tuple[tuple[str, frozenset[str]], ...] = ()  # (kind, accepted keys) each must match

    @property
    def is_empty(self) -> bool:
        return (
            self.types is None and self.formats is None and not self.free_only and not self.facets
        )


class SearchIndexStore:
    """The FTS5 table and its side tables on a private in-memory connection."""

    def __init__(self) -> None:
        # check_same_thread=False: the bot may build a fresh index in a worker thread and then
        # swap it in; each index is still used by one caller at a time.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, rows: Iterable[IndexedOffering]) -> None:
        fts_rows, meta_rows, facet_rows = [], [], []
        for row in rows:
            fts_rows.append((row.docid, *(row.columns.get(name, "") for name in COLUMN_NAMES)))
            meta_rows.append((row.docid, row.typ, row.format, int(row.free)))
            facet_rows.extend(
                (row.docid, kind, key) for kind, keys in row.facets.items() for key in keys
            )
        with self._db:
            self._db.executemany(_INSERT_FTS, fts_rows)
            self._db.executemany("INSERT INTO offering_meta VALUES (?, ?, ?, ?)", meta_rows)
            self._db.executemany(
                "INSERT OR IGNORE INTO offering_facet VALUES (?, ?, ?)", facet_rows
            )
        # Merge the FTS segments once after the bulk load so queries read a single b-tree.
        self._db.execute("INSERT INTO offering_fts (offering_fts) VALUES ('optimize')")

    def search(
        self,
        expression: str,
        row_filter: RowFilter,
        offset: int,
        limit: int,
        total: int | None = None,
    ) -> tuple[list[tuple[int, float]], int]:
        """Matching (docid, score) best first — score is positive, higher is better; equal scores
        in docid order — and the total number of matches. A caller that knows ``total`` already
        gets the page ranked and cut by SQLite, without a pass over every match."""
        if row_filter.is_empty:
            base, params = "FROM offering_fts WHERE offering_fts MATCH ?", [expression]
        else:
            # The unary "+" keeps the rowid list away from FTS5: handed to it as a constraint,
            # FTS5 would run the full-text query once per listed rowid (100× slower).
            where, filter_params = _filter_sql(row_filter)
            base = (
                "FROM offering_fts WHERE offering_fts MATCH ? AND +offering_fts.rowid IN "
                f"(SELECT m.docid FROM offering_meta AS m WHERE 1{where})"
            )
            params = [expression, *filter_params]
        if total is None:
            # Counting reads the same position lists as scoring (NEAR terms need them), so the
            # matches are scored once into a temporary table, counted and ranked from there.
            rows = self._db.execute(
                f"WITH scored AS (SELECT offering_fts.rowid AS docid, -{_BM25} AS score {base}) "
                "SELECT docid, score, (SELECT count(*) FROM scored) FROM scored "
                "ORDER BY score DESC, docid LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            if rows or not offset:
                total = rows[0][2] if rows else 0
                return [(docid, float(score)) for docid, score, _ in rows], total
            total = self._db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        if total == 0 or offset >= total:
            return [], total
        rows = self._db.execute(
            f"SELECT offering_fts.rowid, -{_BM25} AS score {base} "
            "ORDER BY score DESC, offering_fts.rowid LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [(docid, float(score)) for docid, score in rows], total

    def matching(self, expression: str) -> set[int]:
        """Docids matching ``expression``, unranked."""
        rows = self._db.execute(
            "SELECT rowid FROM offering_fts WHERE offering_fts MATCH ?", (expression,)
        )
        return {docid for (docid,) in rows}

    def passing(self, row_filter: RowFilter) -> set[int]:
        """Docids passing the filter, unordered. SQLite joins them into one string: handing
        thousands of one-value rows to Python costs more than the query itself."""
        where, params = _filter_sql(row_filter)
        (joined,) = self._db.execute(
            f"SELECT group_concat(m.docid) FROM offering_meta AS m WHERE 1{where}", params
        ).fetchone()
        return set(map(int, joined.split(","))) if joined else set()

    def list_filtered(
        self, row_filter: RowFilter, offset: int, limit: int
    ) -> tuple[list[int], int]:
        """Docids passing the filter in docid order, and their total (no text query)."""
        where, params = _filter_sql(row_filter)
        base = f"FROM offering_meta AS m WHERE 1{where}"
        total = self._db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        rows = self._db.execute(
            f"SELECT m.docid {base} ORDER BY m.docid LIMIT ? OFFSET ?", (*params, limit, offset)
        ).fetchall()
        return [docid for (docid,) in rows], total


def _filter_sql(row_filter: RowFilter) -> tuple[str, list[object]]:
    """Extra ``AND …`` conditions on ``offering_meta AS m`` plus their parameters."""
    clauses: list[str] = []
    params: list[object] = []
    if row_filter.types is not None:
        clauses.append(_in_clause("m.typ", row_filter.types, params))
    if row_filter.formats is not None:
        clauses.append(_in_clause("m.format", row_filter.formats, params))
    if row_filter.free_only:
        clauses.append("m.free = 1")
    for kind, keys in row_filter.facets:
        # an uncorrelated IN (subquery) is evaluated once, not once per row like EXISTS
        params.append(kind)
        inner = _in_clause("f.key", keys, params)
        clauses.append(
            f"m.docid IN (SELECT f.docid FROM offering_facet AS f WHERE f.kind = ? AND {inner})"
        )
    return "".join(f" AND {c}" for c in clauses), params


def _in_clause(column: str, values: Sequence[str] | frozenset[str], params: list[object]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "0"
    params.extend(ordered)
    return f"{column} IN ({', '.join('?' for _ in ordered)})"
