"""Ranked text search over the catalog's titles and descriptions, in Chinese and English (issue 15).

SQLite FTS5 (Python's standard library: nothing to install, maintained with SQLite) with our own
pre-tokenisation, the same for what is indexed and what is asked:

* Chinese (and any CJK) text has no spaces between words: each run of CJK characters becomes its
  overlapping character bigrams, plus its last character ("2型糖尿病" → 2, 型糖 糖尿 尿病 病).  A query
  of two or more characters is the phrase of its bigrams (adjacent, so "糖尿病" matches only where
  the three characters are contiguous); a query of one character is a prefix of a bigram.  Bigrams
  need no dictionary, so new medical terms are found as written (a segmenter such as jieba cuts
  out-of-vocabulary terms unpredictably and loads a 20 MB dictionary per process);
* other text becomes case-folded words with light English stemming (plural endings only:
  "cohorts" → "cohort", "studies" → "study"), enough for titles without the over-stemming
  of a full Porter stemmer.

Ranking is FTS5's BM25 with the title weighted above the description.  The index is persisted
beside an embedded store (``<store>.text.sqlite``; in memory for other stores) with the store
generation it reflects: written after each store transaction, rebuilt from the store's records
when missing or of another generation, so a crash between the two writes is repaired at the next
start.  All SQL texts are constants; the query is bound as a parameter and holds only quoted
tokens of the characters above (never FTS5 syntax from the user).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from .model import RecordSummary

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
#: BM25 weights of the columns title and body
_WEIGHTS = (5.0, 1.0)

# A record's row is its key as a signed 64-bit integer (keys are 16 hex digits, `model.KEY`):
# matches are read from the full-text index alone, never from the rows' content (20× faster).
_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(title, body, tokenize='unicode61')",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
# the generation's name changes with the layout, so a file of another layout is rebuilt
Q_GENERATION = "SELECT value FROM meta WHERE name = 'generation/texts'"
Q_SET_GENERATION = "INSERT OR REPLACE INTO meta (name, value) VALUES ('generation/texts', ?)"
Q_DELETE = "DELETE FROM texts WHERE rowid = ?"
Q_INSERT = "INSERT INTO texts (rowid, title, body) VALUES (?, ?, ?)"
Q_MATCHES = "SELECT rowid FROM texts WHERE texts MATCH ?"
Q_RANKED = f"SELECT rowid FROM texts WHERE texts MATCH ? ORDER BY bm25(texts, {', '.join(map(str, _WEIGHTS))})"
_SIGN = 1 << 63


def row_of(key: str) -> int:
    return int(key, 16) - _SIGN


def key_of(row: int) -> str:
    return format(row + _SIGN, "016x")


def stem(word: str) -> str:
    """Light English stemming: plural endings only."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokens(text: str) -> list[list[str]]:
    """Groups of tokens: a CJK run's bigrams and last character, or one stemmed word."""
    out = []
    for cjk, word in _TOKEN.findall(text.casefold()):
        if cjk:
            out.append([cjk[i:i + 2] for i in range(len(cjk) - 1)] + [cjk[-1]])
        else:
            out.append([stem(word)])
    return out


def index_text(text: str) -> str:
    """What FTS5 indexes for `text`: its tokens, space-separated."""
    return " ".join(t for group in _tokens(text) for t in group)


def match_expression(query: str) -> str | None:
    """The FTS5 query for a user's words (all must occur), or None when it has no word."""
    terms = []
    for group in _tokens(query):
        if len(group) == 1 and len(group[0]) == 1 and not group[0].isascii():
            terms.append(f'"{group[0]}"*')  # one CJK character: the start of a bigram, or a last character
        elif len(group) > 1:
            terms.append('"' + " ".join(group[:-1]) + '"')  # the bigrams, adjacent
        else:
            terms.append(f'"{group[0]}"')
    return " AND ".join(terms) or None


def record_texts(entry: RecordSummary) -> tuple[str, str]:
    """(title, body) of a record: its titles in every language, and its search text."""
    return " ".join(entry.title.values()), entry.text


class TextIndex:
    """The FTS5 index of the catalog's records, keyed by record key, with its store generation."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False)
        try:
            # a write-ahead log synced at checkpoints, not at every commit: a commit lost to a power
            # cut leaves an older generation, which `sync` repairs from the store
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(Q_GENERATION).fetchall()
            db.execute(Q_MATCHES + " LIMIT 1", ('"probe"',)).fetchall()
        except sqlite3.DatabaseError:  # not a database, or a torn one: start afresh (`sync` refills it)
            db.close()
            if self.path is None or not retry:
                raise
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return self._open(retry=False)
        db.commit()
        return db

    def generation(self) -> str | None:
        with self._lock:
            row = self._db.execute(Q_GENERATION).fetchone()
        return row[0] if row else None

    def sync(self, generation: str | None, entries: Iterable[RecordSummary]) -> bool:
        """Rebuild from `entries` unless the index already reflects `generation`; True if rebuilt.
        A store no write of the node's ever reached has no generation (None, kept as ""), like
        the index file beside it: rebuilt once, not at every start."""
        if self.generation() == (generation or ""):
            return False
        with self._lock, self._db:
            self._db.execute("DELETE FROM texts")
            self._db.executemany(Q_INSERT, _rows(entries))
            self._db.execute(Q_SET_GENERATION, (generation or "",))
        return True

    def update(self, added: Iterable[RecordSummary], removed: Iterable[str], generation: str) -> None:
        """After a store transaction: drop `removed` keys (and those re-added), add `added`."""
        added = list(added)
        with self._lock, self._db:
            self._db.executemany(Q_DELETE, ((row_of(k),) for k in {*removed, *(e.key for e in added)}))
            self._db.executemany(Q_INSERT, _rows(added))
            self._db.execute(Q_SET_GENERATION, (generation,))

    def search(self, query: str, *, ranked: bool = True) -> list[str] | None:
        """Keys of the records matching every word of `query`, best first if `ranked` (BM25 costs
        about as much again as the match); None: no word to search."""
        expression = match_expression(query)
        if expression is None:
            return None
        with self._lock:
            rows = self._db.execute(Q_RANKED if ranked else Q_MATCHES, (expression,)).fetchall()
        return [key_of(row) for row, in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _rows(entries: Iterable[RecordSummary]):
    """(key, title, body) rows, pre-tokenised for FTS5."""
    for e in entries:
        title, body = record_texts(e)
        yield row_of(e.key), index_text(title), index_text(body)
