"""The search index: every record's facet summary as bitsets, so facet counts at 1,000,000
datasets take milliseconds without running SPARQL.  Records are kept as compact JSON, decoded
only for the page shown, so the index of a million datasets fits in memory and loads from its
file (`dump` / `load`, written beside the store by `catalog.indexfile`) in about a second.

Over 400 lines because the records' compact encoding, the bitsets and the search over them
(counts, ranking, paging) are one data structure; split, its internals would leak.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import marshal
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from .model import DIMENSIONS, RecordSummary, iri_lookalike_form
from .search import SearchQuery, SearchResult

#: the layout `dump` writes; `load` refuses any other (the index is then rebuilt from the store)
FORMAT = "derivecert-facet-index/3"


def encode(entry: RecordSummary) -> bytes:
    """A record as the index keeps it: its summary and search text, as compact JSON."""
    return json.dumps({**entry.to_json(), "text": entry.text}, ensure_ascii=False, separators=(",", ":")).encode()


def fingerprint(text: str) -> str:
    """A short digest naming an ordinal numbering (`FacetIndex.layout`)."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class TextMatch(Protocol):
    """What the text index (`text.TextIndex.search`) finds: a bitset of ordinals, and their ranking."""

    mask: int

    def top(self, hits: int, want: int) -> list[int]: ...


def decode(data: bytes) -> RecordSummary:
    value = json.loads(data)
    return RecordSummary.from_json(value, text=value.get("text") or "")


class Entries:
    """Ordinal -> encoded record: a base read from the index file (one buffer, possibly a memory
    map, and its offsets: no Python object a record until one is read) and the records since.
    Whether an ordinal is live is the index's `live` bitset: a removed record may still be here."""

    def __init__(self, blob: bytes | memoryview = b"", offsets: array | None = None) -> None:
        self.blob = blob
        self.offsets = offsets if offsets is not None else array("Q", [0])
        self.base = len(self.offsets) - 1
        self.added: list[bytes | None] = []

    def __len__(self) -> int:
        return self.base + len(self.added)

    def __getitem__(self, i: int) -> bytes | None:
        if i >= self.base:
            return self.added[i - self.base]
        start, end = self.offsets[i], self.offsets[i + 1]
        return bytes(self.blob[start:end]) if end > start else None

    def __setitem__(self, i: int, value: None) -> None:
        """Only a removal (None): a record added since the file frees its bytes; one of the
        file's stays in the buffer, dead (`live` says so), until the index is compacted."""
        if i >= self.base:
            self.added[i - self.base] = None

    def __iter__(self) -> Iterator[bytes | None]:
        return (self[i] for i in range(len(self)))

    def append(self, data: bytes) -> None:
        self.added.append(data)

    def parts(self) -> tuple[bytes, bytes]:
        """Every record in one buffer, and the offsets as bytes: the file's buffer as it is
        (one copy, no Python work a record), then the records since (removed ones empty)."""
        base_end = self.offsets[-1]
        offsets = array("Q", self.offsets)
        pos = base_end
        for data in self.added:
            pos += len(data or b"")
            offsets.append(pos)
        return bytes(self.blob[:base_end]) + b"".join(d or b"" for d in self.added), offsets.tobytes()


class FacetIndex:
    """Facet summary of every record as bitsets: one Python int per (dimension, value).

    Ordinals follow (modified, key), so "newest first" reads the highest set bits.  Facet
    counts follow the multi-select convention: a dimension's counts apply every filter but
    its own, so the client sees the alternatives it could add.

    The text index numbers its rows by these ordinals: `layout` names the numbering (a digest of
    the keys in ordinal order, chained with each key appended), unchanged by removals and kept in
    the index file, and `freed` lists the ordinals removed since the text index last took them.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.entries = Entries()  # ordinal -> `encode`d record (None: removed)
        self._by_key: dict[str, int] = {}
        # look-alike form of a dataset IRI -> its keys, joined by spaces (one str, not a set, a
        # dataset: a third of the memory at a million)
        self._by_form: dict[str, str] = {}
        self._by_filing: dict[str, str] = {}  # filing number -> key
        # the three maps above, as loaded from the file and not yet built (`prepare`)
        self._pending: tuple[str, list[str], list[str]] | None = None
        self._prepare_lock = threading.Lock()
        self._wanted = False  # a caller waits for the maps (see prepare)
        self.live = 0
        self.masks: dict[str, dict[str, int]] = {dim: {} for dim in DIMENSIONS}
        self._text_cache: dict[str, int] = {}
        self._blob: str | None = None
        self._starts: list[int] = []
        self._decoded: dict[int, RecordSummary] = {}
        self.generation = 0
        self.layout = fingerprint("")
        self.freed: list[int] = []

    def __len__(self) -> int:
        return self.live.bit_count()

    # the maps by key, look-alike form and filing number: built after a load, off the start's path
    @property
    def by_key(self) -> dict[str, int]:
        self._wanted = True  # a background build in progress stops giving the interpreter up
        self.prepare()
        return self._by_key

    @property
    def by_form(self) -> dict[str, str]:
        self._wanted = True  # a background build in progress stops giving the interpreter up
        self.prepare()
        return self._by_form

    @property
    def by_filing(self) -> dict[str, str]:
        self._wanted = True  # a background build in progress stops giving the interpreter up
        self.prepare()
        return self._by_filing

    def prepare(self, *, background: bool = False) -> None:
        """Build the maps of a loaded index (5.5 s at a million datasets). In the `background`
        (the node's warm-up thread, while it serves searches), the build gives the interpreter up
        for a moment every few hundred records: a search thread that waited on I/O gets it back
        within about a millisecond, not a whole switch interval (5 ms) at every wait, which put
        a search's p99 at 66 ms in a million-dataset node's first seconds (bench/catalog_scale.py);
        once a caller waits for the maps (a text search, a write), it goes at full speed."""
        if self._pending is None:
            return
        with self._prepare_lock:
            if self._pending is None:
                return
            keys_text, forms, numbers = self._pending
            by_key: dict[str, int] = {}
            by_form: dict[str, str] = {}
            by_filing: dict[str, str] = {}
            for i in range(len(forms)):
                if background and not i % 256 and not self._wanted:
                    time.sleep(0.0002)
                key = keys_text[16 * i:16 * i + 16]
                if key == " " * 16:
                    continue
                by_key[key] = i
                form = forms[i]
                by_form[form] = key if form not in by_form else by_form[form] + " " + key
                if numbers[i]:
                    by_filing[numbers[i]] = key
            self._by_key, self._by_form, self._by_filing = by_key, by_form, by_filing
            self._pending = None

    def get(self, key: str) -> RecordSummary | None:
        i = self.by_key.get(key)
        return self._live(i) if i is not None else None

    def _live(self, i: int) -> RecordSummary:
        """The entry at a live ordinal (one of `by_key`'s, or a bit of `live`)."""
        entry = self._decoded.get(i)
        if entry is None:
            data = self.entries[i]
            assert data is not None, f"ordinal {i} is not live"
            if len(self._decoded) > 4096:  # a few pages' worth: the rest stays compact
                self._decoded.clear()
            entry = self._decoded[i] = decode(data)
        return entry

    def records(self) -> list[RecordSummary]:
        """Every live record, in ordinal order."""
        return [self._live(i) for i in self._ordinals(self.live)]

    def items(self) -> Iterator[tuple[int, RecordSummary]]:
        """(ordinal, record) of every live record, decoded one at a time."""
        for i in self._ordinals(self.live):
            yield i, self._live(i)

    @staticmethod
    def _ordinals(mask: int) -> list[int]:
        s = bin(mask)[:1:-1]  # bit i at position i
        return [i for i, c in enumerate(s) if c == "1"]

    def lookalikes(self, dataset: str) -> list[RecordSummary]:
        """Records whose dataset IRI is `dataset` or a look-alike of it (`iri_lookalike_form`)."""
        keys = self.by_form.get(iri_lookalike_form(dataset), "")
        return [self._live(self.by_key[k]) for k in sorted(keys.split())]

    def find_filing(self, number: str) -> RecordSummary | None:
        key = self.by_filing.get(number)
        return self.get(key) if key is not None else None

    def _link(self, entry: RecordSummary) -> None:
        form = iri_lookalike_form(entry.dataset)
        keys = self.by_form.get(form)
        self.by_form[form] = entry.key if not keys else " ".join(sorted({*keys.split(), entry.key}))
        number = (entry.filing or {}).get("number")
        if number:
            self.by_filing[str(number)] = entry.key

    def _unlink(self, entry: RecordSummary) -> None:
        form = iri_lookalike_form(entry.dataset)
        keys = [k for k in self.by_form.get(form, "").split() if k != entry.key]
        if keys:
            self.by_form[form] = " ".join(keys)
        else:
            self.by_form.pop(form, None)
        number = str((entry.filing or {}).get("number") or "")
        if self.by_filing.get(number) == entry.key:
            del self.by_filing[number]

    def add_many(self, entries: Iterable[RecordSummary]) -> None:
        entries = sorted(entries, key=lambda e: (e.modified, e.key))
        if self.by_key:
            for entry in entries:
                self.add(entry)
            return
        # bulk build: one bytearray per (dimension, value), turned into an int once (O(n))
        n = len(entries)
        size = (n + 8) // 8
        live = bytearray(size)
        tables: dict[str, dict[str, bytearray]] = {dim: {} for dim in DIMENSIONS}
        entries_dims: list[dict[str, set[str]]] = []
        for i, entry in enumerate(entries):
            if entry.key in self.by_key:  # a duplicate key: the later one wins
                old = self.by_key[entry.key]
                self._unlink(decode(self.entries[old] or b""))
                self.entries[old] = None
                live[old >> 3] &= ~(1 << (old & 7)) & 0xFF
                for dim, values in entries_dims[old].items():
                    for value in values:
                        tables[dim][value][old >> 3] &= ~(1 << (old & 7)) & 0xFF
            self.entries.append(encode(entry))
            self.by_key[entry.key] = i
            self._link(entry)
            byte, bit = i >> 3, 1 << (i & 7)
            live[byte] |= bit
            dims = {dim: set(values) for dim, values in entry.codes.items() if values and dim in tables}
            dims["institution"] = {entry.institution}
            dims["verdict"] = {entry.verdict}
            if entry.depth:
                dims["depth"] = {entry.depth}
            for dim, values in dims.items():
                table = tables[dim]
                for value in values:
                    arr = table.get(value)
                    if arr is None:
                        arr = table[value] = bytearray(size)
                    arr[byte] |= bit
            entries_dims.append(dims)
        self.live = int.from_bytes(live, "little")
        keys = [" " * 16] * n
        for key, i in self.by_key.items():
            keys[i] = key
        self.layout = fingerprint("".join(keys))  # as `load` names a file's numbering
        self.masks = {dim: {v: int.from_bytes(a, "little") for v, a in t.items()} for dim, t in tables.items()}
        self.masks = {dim: {v: m for v, m in t.items() if m} for dim, t in self.masks.items()}
        self._changed()

    def add(self, entry: RecordSummary) -> None:
        self.remove(entry.key)
        i = len(self.entries)
        bit = 1 << i
        self.entries.append(encode(entry))
        self.by_key[entry.key] = i
        self.layout = fingerprint(self.layout + entry.key)
        self._link(entry)
        self.live |= bit
        for dim in DIMENSIONS:
            table = self.masks[dim]
            for value in set(entry.dimension_values(dim)):
                table[value] = table.get(value, 0) | bit
        self._changed()

    def remove(self, key: str) -> bool:
        i = self.by_key.pop(key, None)
        if i is None:
            return False
        entry = self._live(i)
        self.entries[i] = None
        self.freed.append(i)
        self._decoded.pop(i, None)
        self._unlink(entry)
        bit = 1 << i
        self.live ^= bit
        for dim in DIMENSIONS:
            table = self.masks[dim]
            for value in set(entry.dimension_values(dim)):
                table[value] ^= bit
                if not table[value]:
                    del table[value]
        self._changed()
        if len(self.entries) > 1024 and len(self.by_key) * 2 < len(self.entries):
            self._compact()
        return True

    def _changed(self) -> None:
        self._text_cache.clear()
        self._blob = None
        self.generation += 1

    def _compact(self) -> None:
        alive = self.records()
        self.clear()
        self.add_many(alive)

    # the index file ---------------------------------------------------------------------------
    def dump(self) -> tuple[bytes, bytes]:
        """The index as (meta, records): `marshal` of plain values only (nothing that runs code
        on load), and every record's JSON in one buffer that `load` may take as a memory map."""
        blob, offsets = self.entries.parts()
        n = len(self.entries)
        keys, forms, numbers = [" " * 16] * n, [""] * n, [""] * n
        for key, i in self.by_key.items():
            keys[i] = key
        for form, joined in self.by_form.items():
            for key in joined.split():
                forms[self.by_key[key]] = form.replace("\n", " ")
        for number, key in self.by_filing.items():
            numbers[self.by_key[key]] = number.replace("\n", " ")
        meta = marshal.dumps({
            "format": FORMAT, "live": self.live, "masks": self.masks, "offsets": offsets, "layout": self.layout,
            "keys": "".join(keys), "forms": "\n".join(forms), "numbers": "\n".join(numbers),
        })
        return meta, blob

    @classmethod
    def load(cls, meta: bytes, blob: bytes | memoryview) -> "FacetIndex":
        """An index from `dump`'s parts; ValueError when they are not of this `FORMAT`.  Its maps
        by key, form and filing number are built on first use or by `prepare`."""
        try:
            value = marshal.loads(meta)
        except (EOFError, ValueError, TypeError) as exc:
            raise ValueError(f"not a facet index: {exc}") from None
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise ValueError("not a facet index of this version")
        index = cls()
        offsets = array("Q")
        offsets.frombytes(value["offsets"])
        if not offsets or offsets[-1] > len(blob):
            raise ValueError("the facet index's records are cut short")
        index.entries = Entries(blob, offsets)
        index.live, index.masks = value["live"], value["masks"]
        for dim in DIMENSIONS:
            index.masks.setdefault(dim, {})
        n = index.entries.base
        forms, numbers = (value["forms"].split("\n"), value["numbers"].split("\n")) if n else ([], [])
        if not (len(value["keys"]) == 16 * index.entries.base == 16 * len(forms) == 16 * len(numbers)):
            raise ValueError("the facet index's maps do not match its records")
        index._pending = (value["keys"], forms, numbers)
        # a file written before the layout was kept names the numbering of its keys
        index.layout = value.get("layout") or fingerprint(value["keys"])
        return index

    def _text_mask(self, word: str) -> int:
        """Records whose text contains `word`: `str.find` over one blob of all texts, so a
        rare word costs little and a common one one step per hit."""
        cached = self._text_cache.get(word)
        if cached is not None:
            return cached
        if self._blob is None:
            starts, parts, pos = [], [], 0
            live = set(self._ordinals(self.live))
            for i in range(len(self.entries)):
                starts.append(pos)
                text = self._live(i).text if i in live else ""
                parts.append(text)
                pos += len(text) + 1
            self._blob, self._starts = "\x00".join(parts), starts
        blob, starts = self._blob, self._starts
        bits = bytearray((len(self.entries) + 8) // 8)
        pos = blob.find(word)
        while pos >= 0:
            i = bisect.bisect_right(starts, pos) - 1
            bits[i >> 3] |= 1 << (i & 7)
            nxt = starts[i + 1] if i + 1 < len(starts) else len(blob)
            pos = blob.find(word, nxt)
        mask = int.from_bytes(bits, "little") & self.live
        if len(self._text_cache) > 256:
            self._text_cache.clear()
        self._text_cache[word] = mask
        return mask

    def search(self, query: SearchQuery, text: TextMatch | None = None) -> SearchResult:
        """`text`: what the text index found for `query.text` (it replaces the substring match of
        its words), which orders the page when `query.sort` is "relevance"."""
        base = self.live
        if text is not None:
            base &= text.mask
        else:
            for word in query.words():
                base &= self._text_mask(word)
        dim_masks: dict[str, int] = {}
        for dim, values in query.filters.items():
            if dim not in self.masks or not values:
                continue
            m = 0
            for v in values:
                m |= self.masks[dim].get(v, 0)
            dim_masks[dim] = m
        hits = base
        for m in dim_masks.values():
            hits &= m
        facets: dict[str, dict[str, int]] = {}
        for dim, table in self.masks.items():
            m = base
            for other, om in dim_masks.items():
                if other != dim:
                    m &= om
            counts = {v: (m & vm).bit_count() for v, vm in table.items()}
            for v in query.filters.get(dim, []):
                counts.setdefault(v, 0)
            facets[dim] = {v: n for v, n in counts.items() if n or v in query.filters.get(dim, [])}
        total = hits.bit_count()
        if text is not None and query.sort == "relevance":
            items = [self._live(i) for i in text.top(hits, query.offset + query.limit)[query.offset:]]
        else:
            if query.sort == "relevance":  # no words to rank by
                query = replace(query, sort="-modified")
            items = [self._live(i) for i in self._page(hits, query)]
        return SearchResult(total=total, items=items, facets=facets)

    def _page(self, hits: int, query: SearchQuery) -> list[int]:
        want = query.offset + query.limit
        if query.sort == "-modified" and want <= 4096:
            out: list[int] = []
            m = hits
            while m and len(out) < want:
                i = m.bit_length() - 1
                out.append(i)
                m ^= 1 << i
            return out[query.offset:]
        s = bin(hits)[:1:-1]  # bit i at position i
        ordinals = [i for i, c in enumerate(s) if c == "1"]
        if query.sort == "title":
            ordinals.sort(key=lambda i: (_title_key(self._live(i)), self._live(i).key))
        elif query.sort == "-modified":
            ordinals.reverse()
        return ordinals[query.offset:want]


def _title_key(entry: RecordSummary) -> str:
    t = entry.title
    return (t.get("en") or t.get("zh") or t.get("und") or next(iter(t.values()), "") or entry.dataset).casefold()
