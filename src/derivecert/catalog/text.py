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

Ranking is FTS5's BM25 with the title weighted above the description, ties newest first.  A row
is the record's ordinal in the facet index (`index.FacetIndex`), so a match set is a bitset of
the index's own numbering: no key strings, no lookups, no wait for the index's maps.  Tokens found
in at least `FREQUENT` records (the catalog's common words) also have a row in ``frequent``:
their match set as a bitset and their records in BM25 order (the order FTS5 gives, ranked once;
records added since are scored with the statistics of that ranking and merged), so a common word
costs a blob read, not a pass over 200,000 matches (docs/DESIGN.md, "Bulk loading and text search").

The index is persisted beside an embedded store (``<store>.text.sqlite``; in memory for other
stores) with the store generation and the facet index's `layout` it reflects: written after
each store transaction, rebuilt from the facet index when missing, of another generation or of
another numbering, so a crash between the two writes is repaired at the next start.  All SQL
texts are constants; the query is bound as a parameter and holds only quoted tokens of the
characters above (never FTS5 syntax from the user).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .index import fingerprint
from .model import RecordSummary

if TYPE_CHECKING:
    from .index import FacetIndex

log = logging.getLogger(__name__)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
#: BM25 weights of the columns title and body
_WEIGHTS = (5.0, 1.0)
_BM25 = f"bm25(texts, {', '.join(map(str, _WEIGHTS))})"
#: records a token is in for it to be "frequent": below, FTS5 ranks its matches in a few ms
FREQUENT = 4096
#: ordinals of a frequent token's BM25 order read at a time (most pages need the first few)
_CHUNK = 2048

# A record's row is its ordinal in the facet index: matches are read from the full-text index
# alone, never from the rows' content (20× faster), and turned into the index's bitset directly.
_TEXTS = "CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(title, body, tokenize='unicode61')"
_FREQUENT = ("CREATE TABLE IF NOT EXISTS {} (token TEXT PRIMARY KEY, bits BLOB NOT NULL, ranked BLOB NOT NULL, "
             "gains BLOB NOT NULL, avgdl REAL NOT NULL)")
_SCHEMA = (
    _TEXTS,
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # a frequent token: its records' bitset (ordinals below the watermark), its records in BM25
    # order (array "I") and their gains (array "d", `_gain`) with the records' average size
    # when it was ranked; ``frequent_next``: a ranking under way (`_rank_next`)
    _FREQUENT.format("frequent"),
    _FREQUENT.format("frequent_next"),
)
# the names change with the layout, so a file of another layout is rebuilt
_GENERATION, _LAYOUT, _WATERMARK = "generation/texts-2", "layout/texts-2", "watermark/texts-2"
Q_STATE = "SELECT name, value FROM meta"
Q_SET = "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"
Q_DELETE = "DELETE FROM texts WHERE rowid = ?"
Q_INSERT = "INSERT INTO texts (rowid, title, body) VALUES (?, ?, ?)"
Q_MATCHES = "SELECT rowid FROM texts WHERE texts MATCH ?"
Q_MATCHES_FROM = "SELECT rowid FROM texts WHERE texts MATCH ? AND rowid >= ?"
Q_RANKED = f"SELECT rowid FROM texts WHERE texts MATCH ? ORDER BY {_BM25}, rowid DESC"
# the weighted frequency of a one-token term in each record since the ranking: its marked instances
Q_INSTANCES_FROM = ("SELECT rowid, highlight(texts, 0, char(1), ''), highlight(texts, 1, char(1), '') FROM texts "
                    "WHERE texts MATCH ? AND rowid >= ?")
Q_SIZE = "SELECT sz FROM texts_docsize WHERE id = ?"
Q_AVERAGES = "SELECT block FROM texts_data WHERE id = 1"
Q_COUNT = "SELECT count(*) FROM texts WHERE texts MATCH ?"
Q_SCORED_BELOW = f"SELECT rowid, {_BM25} FROM texts WHERE texts MATCH ? AND rowid < ? ORDER BY 2, rowid DESC"
Q_VOCABULARY = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary USING fts5vocab(main, texts, row)"
Q_FREQUENT_TOKENS = "SELECT term FROM temp.vocabulary WHERE doc >= ?"
Q_FREQUENT_INSERT = "INSERT INTO {} (token, bits, ranked, gains, avgdl) VALUES (?, ?, ?, ?, ?)"
Q_FREQUENT_BITS = "SELECT rowid, bits, avgdl FROM frequent WHERE token = ?"
# FTS5's BM25 constants (fts5_aux.c)
_K1, _B = 1.2, 0.75


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


def _terms(query: str) -> list[str]:
    """The FTS5 terms of a user's words (all must occur)."""
    terms = []
    for group in _tokens(query):
        if len(group) == 1 and len(group[0]) == 1 and not group[0].isascii():
            terms.append(f'"{group[0]}"*')  # one CJK character: the start of a bigram, or a last character
        elif len(group) > 1:
            terms.append('"' + " ".join(group[:-1]) + '"')  # the bigrams, adjacent
        else:
            terms.append(f'"{group[0]}"')
    return terms


def match_expression(query: str) -> str | None:
    """The FTS5 query for a user's words (all must occur), or None when it has no word."""
    return " AND ".join(_terms(query)) or None


def _single_token(term: str) -> str | None:
    """The token of a term that is one whole token (a frequent one has a row in ``frequent``)."""
    return term[1:-1] if term.endswith('"') and " " not in term else None


def record_texts(entry: RecordSummary) -> tuple[str, str]:
    """(title, body) of a record: its titles in every language, and its search text."""
    return " ".join(entry.title.values()), entry.text


def _rows(records: Iterable[tuple[int, RecordSummary]]) -> Iterator[tuple[int, str, str]]:
    """(ordinal, title, body) rows of `Q_INSERT`, pre-tokenised for FTS5."""
    for i, entry in records:
        title, body = record_texts(entry)
        yield i, index_text(title), index_text(body)


def _idf(rows: int, hits: int) -> float:
    """FTS5's inverse document frequency of a term in `hits` of `rows` records."""
    idf = math.log((max(rows, hits) - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0 else 1e-6


def _gain(frequency: float, size: int, avgdl: float) -> float:
    """A one-token term's BM25 score in a record, without its idf (a constant for the term): FTS5's
    formula, of the term's weighted frequency and the record's size in tokens, rounded so that
    equal records tie whichever way it was computed (from FTS5's score, or here)."""
    return round(frequency * (_K1 + 1) / (frequency + _K1 * (1 - _B + _B * size / avgdl)), 12)


def _varints(data: bytes) -> list[int]:
    """SQLite's varints (FTS5's column sizes and totals)."""
    out, value = [], 0
    for byte in data:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            out.append(value)
            value = 0
    return out


def _bits(ordinals) -> int:
    """The bitset of `ordinals` (one byte written a record: no big-int shifts)."""
    ordinals = list(ordinals)
    if not ordinals:
        return 0
    bits = bytearray((max(ordinals) >> 3) + 1)
    for i in ordinals:
        bits[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(bits, "little")


class TextMatch:
    """The records matching a query's words: `mask`, a bitset of facet-index ordinals (removed
    records' bits may be set: the index keeps its live ones), and `top`, the best of a subset."""

    def __init__(self, text: "TextIndex", terms: list[str], mask: int, frequent: dict[str, tuple[int, float]]) -> None:
        self.text, self.terms, self.mask, self._frequent = text, terms, mask, frequent
        self._ranking = text._rankings  # the ``frequent`` rows `frequent` names are of this ranking

    def top(self, hits: int, want: int) -> list[int]:
        """The first `want` ordinals of `hits` (a subset of `mask`) in BM25 order, ties newest first."""
        if want <= 0 or not hits:
            return []
        bits = hits.to_bytes((hits.bit_length() + 7) // 8, "little")

        def hit(i: int) -> bool:
            return i >> 3 < len(bits) and bits[i >> 3] >> (i & 7) & 1 == 1

        expression = " AND ".join(self.terms)
        text = self.text
        with text._lock:
            if len(self.terms) == 1 and self.terms[0] in self._frequent and self._ranking == text._rankings:
                # one frequent token: its BM25 order, read until the page is full, merged with the
                # records added since it was ranked (few), scored as of that ranking
                row, avgdl = self._frequent[self.terms[0]]
                out = text._ranked_prefix(row, hit, want)
                if hits >> text._watermark:
                    out += text._gains_since(expression, hit, avgdl)
                    out.sort()
                return [-i for _, i in out[:want]]
            # other queries (and one ranked again by a write since it was matched): FTS5's BM25
            out2: list[int] = []
            for (i,) in text._db.execute(Q_RANKED, (expression,)):
                if hit(i):
                    out2.append(i)
                    if len(out2) >= want:
                        break
            return out2


class TextIndex:
    """The FTS5 index of the catalog's records, by facet-index ordinal, with its store generation."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._lock = threading.RLock()
        self._db = self._open()
        self._watermark = 0  # ordinals the ``frequent`` rows cover (below it)
        self._rankings = 0  # rankings of the frequent words since opened (a match names its own)
        self._epoch = 0  # changed by a rebuild and by `close`: a ranking under way stops
        self._ranker: threading.Thread | None = None
        self.frequent_at = FREQUENT  # (tests lower it to rank every word)
        self._state()

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False)
        try:
            # a write-ahead log synced at checkpoints, not at every commit: a commit lost to a power
            # cut leaves an older generation, which `sync` repairs from the store
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(Q_STATE).fetchall()
            db.execute(Q_MATCHES + " LIMIT 1", ('"probe"',)).fetchall()
            for table in ("frequent", "frequent_next"):  # (constants)
                db.execute(f"SELECT rowid, bits, ranked, gains, avgdl FROM {table} LIMIT 1").fetchall()
        except sqlite3.DatabaseError:  # not a database, or a torn one: start afresh (`sync` refills it)
            db.close()
            if self.path is None or not retry:
                raise
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            return self._open(retry=False)
        db.commit()
        return db

    def _state(self) -> dict[str, str]:
        with self._lock:
            state = dict(self._db.execute(Q_STATE).fetchall())
            watermark = state.get(_WATERMARK) or ""
            self._watermark = int(watermark) if watermark.isdigit() else 0  # a torn meta: `sync` rebuilds
        return state

    def generation(self) -> str | None:
        return self._state().get(_GENERATION)

    def sync(self, generation: str | None, index: "FacetIndex") -> bool:
        """Rebuild from `index` unless the text index already reflects `generation` and the index's
        numbering (`FacetIndex.layout`); True if rebuilt.  A store no write of the node's ever
        reached has no generation (None, kept as ""), like the index file beside it: rebuilt once,
        not at every start."""
        index.freed.clear()  # removals the index replayed from its journal: reflected here, or rebuilt
        state = self._state()
        if state.get(_GENERATION) == (generation or "") and state.get(_LAYOUT) == index.layout:
            return False
        self._rebuild(generation or "", index)
        return True

    def _rebuild(self, generation: str, index: "FacetIndex") -> None:
        """Index every live record of `index` afresh, then rank the frequent tokens and set the
        generation (two transactions: FTS5 writes its totals, which the ranking reads, at commit;
        a crash between them leaves no generation, so the next start rebuilds)."""
        with self._lock:
            self._epoch += 1  # a ranking under way is of the rows replaced here
            with self._db as db:
                db.execute("DELETE FROM meta")
                db.execute("DELETE FROM frequent")
                db.execute("DELETE FROM frequent_next")
                db.execute("DROP TABLE texts")  # far faster than deleting a million rows one by one
                db.execute(_TEXTS)
                db.executemany(Q_INSERT, _rows(index.items()))
            try:
                with self._db as db:
                    self._rank_frequent(len(index.entries))
                    db.executemany(Q_SET, [(_GENERATION, generation), (_LAYOUT, index.layout)])
            finally:
                self._state()

    def _rank_frequent(self, watermark: int) -> None:
        """The ``frequent`` rows of every token in at least `FREQUENT` records, in one transaction
        after the rows' own (a rebuild: 54 CPU s at a million datasets of the bench)."""
        self._db.execute("DELETE FROM frequent")
        for token in self._frequent_tokens():
            self._rank_token("frequent", token, watermark)
        self._db.execute(Q_SET, (_WATERMARK, str(watermark)))
        self._rankings += 1  # (its watermark is read back once committed: `_state`)

    def _frequent_tokens(self) -> list[str]:
        self._db.execute(Q_VOCABULARY)
        return [token for token, in self._db.execute(Q_FREQUENT_TOKENS, (self.frequent_at,)).fetchall()]

    def _rank_token(self, table: str, token: str, watermark: int) -> None:
        """`token`'s row in `table`: its records below `watermark` in FTS5's BM25 order, their
        gains (the score over the token's idf, as FTS5 computes it: every record it is in), and
        the average size they were scored with (the tail is scored with it: `_gains_since`)."""
        db = self._db
        quoted = '"' + token.replace('"', '""') + '"'
        averages = _varints(db.execute(Q_AVERAGES).fetchone()[0])
        idf = _idf(averages[0], db.execute(Q_COUNT, (quoted,)).fetchone()[0])
        rows = db.execute(Q_SCORED_BELOW, (quoted, watermark)).fetchall()
        ranked, gains = array("I", (i for i, _ in rows)), array("d", (round(-s / idf, 12) for _, s in rows))
        db.execute(Q_FREQUENT_INSERT.format(table), (token, _bits(ranked).to_bytes((watermark + 7) // 8, "little"),
                                                     ranked.tobytes(), gains.tobytes(),
                                                     sum(averages[1:]) / max(1, averages[0])))

    def _rank_later(self, watermark: int) -> None:
        """Rank the frequent words again in a thread (`_rank_next`), unless one is under way."""
        if self._ranker is not None and self._ranker.is_alive():
            return
        self._ranker = threading.Thread(target=self._rank_next, args=(watermark, self._epoch),
                                        name="derivecert-text-rank", daemon=True)
        self._ranker.start()

    def _rank_next(self, watermark: int, epoch: int) -> None:
        """A ranking off the writes' path: a token at a time under the lock (searches and writes go
        on between, with the last ranking and its tail), into ``frequent_next``, swapped in with
        the watermark in one transaction.  Each token's gains are FTS5's of its moment, with the
        average size they were computed with; a rebuild or `close` meanwhile stops it."""
        try:
            with self._lock:
                if epoch != self._epoch:
                    return
                with self._db as db:
                    db.execute("DELETE FROM frequent_next")
                tokens = self._frequent_tokens()
            for token in tokens:
                with self._lock:
                    if epoch != self._epoch:
                        return
                    with self._db:
                        self._rank_token("frequent_next", token, watermark)
            with self._lock:
                if epoch != self._epoch:
                    return
                with self._db as db:
                    db.execute(Q_SET, (_WATERMARK, str(watermark)))  # opens the transaction the swap is in
                    db.execute("DROP TABLE frequent")
                    db.execute("ALTER TABLE frequent_next RENAME TO frequent")
                    db.execute(_FREQUENT.format("frequent_next"))
                self._rankings += 1
                self._state()
        except sqlite3.Error as exc:  # the last ranking stays in force (and its tail grows)
            log.warning("text index: the frequent words were not ranked again: %s", exc)

    def settle(self) -> None:
        """Wait for a ranking under way (tests, benches)."""
        if self._ranker is not None:
            self._ranker.join()

    def update(self, index: "FacetIndex", added: list[RecordSummary], generation: str) -> None:
        """After a store transaction and the index's change: drop the ordinals the index freed,
        add `added` at their ordinals.  An index renumbered (compacted) is indexed afresh; the
        frequent tokens are ranked again, in the background, once the records since their ranking
        outnumber those before it (amortised: a record is ranked again a bounded number of times)."""
        with self._lock:
            appended = sorted((i, entry) for entry in added if (i := index.by_key.get(entry.key)) is not None)
            layout = self._state().get(_LAYOUT) or ""
            for _, entry in appended:  # the numbering `added` leads to from the one indexed here
                layout = fingerprint(layout + entry.key)
            if layout != index.layout:
                self._rebuild(generation, index)
                index.freed.clear()
                return
            with self._db as db:
                db.executemany(Q_DELETE, ((i,) for i in index.freed))
                index.freed.clear()
                db.executemany(Q_INSERT, _rows(appended))
                db.executemany(Q_SET, [(_GENERATION, generation), (_LAYOUT, layout)])
            if len(index.entries) - self._watermark > max(self.frequent_at, self._watermark):
                self._rank_later(len(index.entries))  # after the rows' commit: FTS5's totals are written then

    def search(self, query: str) -> TextMatch | None:
        """The records matching every word of `query`; None: no word to search."""
        terms = _terms(query)
        if not terms:
            return None
        with self._lock:
            frequent: dict[str, tuple[int, float]] = {}
            mask: int | None = None
            for term in terms:
                token = _single_token(term)
                row = self._db.execute(Q_FREQUENT_BITS, (token,)).fetchone() if token else None
                if row is not None:
                    frequent[term] = row[0], row[2]
                    bits = int.from_bytes(row[1], "little")
                    mask = bits if mask is None else mask & bits
            rest = [t for t in terms if t not in frequent]
            if rest and mask != 0:
                found = _bits(i for i, in self._db.execute(Q_MATCHES, (" AND ".join(rest),)))
                mask = found if mask is None else mask & found
            if frequent:  # the frequent rows cover the ordinals below the watermark; FTS5 the rest
                mask = (mask or 0) | _bits(i for i, in self._db.execute(Q_MATCHES_FROM, (" AND ".join(terms), self._watermark)))
        return TextMatch(self, terms, mask or 0, frequent)

    def _ranked_prefix(self, row: int, hit, want: int) -> list[tuple[float, int]]:
        """(-gain, -ordinal) of the first `want` hits in a frequent token's BM25 order, read a
        chunk at a time (a page of the best matches reads a few kB, not the whole order)."""
        out: list[tuple[float, int]] = []
        with self._db.blobopen("frequent", "ranked", row, readonly=True) as ranked, \
                self._db.blobopen("frequent", "gains", row, readonly=True) as gains:
            while len(out) < want:
                chunk = array("I", ranked.read(4 * _CHUNK))
                if not chunk:
                    break
                values = array("d", gains.read(8 * len(chunk)))
                for i, gain in zip(chunk, values, strict=True):
                    if hit(i):
                        out.append((-gain, -i))
                        if len(out) >= want:
                            break
        return out

    def _gains_since(self, expression: str, hit, avgdl: float) -> list[tuple[float, int]]:
        """(-gain, -ordinal) of the hits among the records added since the ranking, with the
        ranking's average size `avgdl`: the same BM25 as the ranked ones, whatever was added since."""
        out = []
        for i, title, body in self._db.execute(Q_INSTANCES_FROM, (expression, self._watermark)).fetchall():
            if hit(i):
                size = sum(_varints(self._db.execute(Q_SIZE, (i,)).fetchone()[0]))
                frequency = _WEIGHTS[0] * title.count("\x01") + _WEIGHTS[1] * body.count("\x01")
                out.append((-_gain(frequency, size, avgdl), -i))
        return out

    def close(self) -> None:
        with self._lock:
            self._epoch += 1
        self.settle()
        with self._lock:
            self._db.close()
