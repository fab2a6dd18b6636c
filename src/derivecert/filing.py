"""Filing records (DOMAIN.md §5, amendment A7): what was certified, its lifecycle, its signature.

A filing states the dataset, the verdict, the approved scenarios, the level, the grade and, for a
conditional outcome, the conditions (each Warning's requirement and message), with its number,
date, certifying body, validity (capped by the earliest source authorization), the ontology and
shapes versions, and the SHA-256 of the description certified.

The digest is the SHA-256 of the dataset's description in RDF Dataset Canonicalization
(RDFC-1.0, W3C), so blank-node labels and triple order never change it.

The record is RDF (PROV) and is signed as RDF: the Ed25519 signature covers the canonical N-Quads
of the record as issued (every triple about the filing IRI and its `#fragment` nodes, minus the
lifecycle and signature triples). A record has no blank nodes, so its RDFC-1.0 canonical form is
its sorted N-Quads lines: cheap, bounded, and reproducible from any serialisation
(docs/DESIGN.md, "Filing records").

A description whose blank nodes each have statements of their own is canonicalised in linear time
(`derivecert.rdfc`: the usual case). RDFC-1.0's worst case is exponential in the blank nodes that
cannot be told apart (a clique of 10 takes minutes), and its security considerations ("dataset
poisoning") ask implementations to bound that work: Oxigraph's `canonicalize`, which runs then, has
no bound, so it runs as a phase of the bounded worker (`derivecert.sandbox.phase`) with its own time
budget (`limits.canonicalise_timeout_s`); past it the description is refused as too ambiguous.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SH, SKOS

from .errors import CanonicalisationLimitError, InputError
from .parse import setting_name, to_oxigraph
from .rdfc import TermText, canonical_nquads, oxigraph_nquads
from .rdfstore import Index, add_all, index
from .sandbox import phase
from .vocab import DCERT, FILING_BASE, Terms, literal

_D, _DCT, _FOAF, _PROV, _RDF, _RDFS, _SH = (Terms(ns) for ns in (DCERT, DCTERMS, FOAF, PROV, RDF, RDFS, SH))

DEFAULT_VALIDITY_YEARS = 2

#: the life cycle of a filing (A7); `expired` is never stored, it is read from the validity
STATUSES = ("valid", "expired", "superseded", "suspended", "revoked")
STATUS_IRI = {status: DCERT[status.capitalize()] for status in STATUSES}
STATUS_OF = {iri: status for status, iri in STATUS_IRI.items()}
#: what the certifying body may do, and from which stored states (revocation is final)
ACTIONS = {"suspend": ("suspended", {"valid"}),
           "reinstate": ("valid", {"suspended"}),
           "revoke": ("revoked", {"valid", "suspended", "superseded"})}
#: triples that change after issue, so the signature does not cover them
LIFECYCLE = frozenset({DCERT.filingStatus, DCERT.statusReason, DCERT.statusChanged, DCTERMS.isReplacedBy})


@dataclass(frozen=True)
class Signature:
    key_id: str
    value: str  # base64
    algorithm: str = "Ed25519"

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "key_id": self.key_id, "value": self.value}


@dataclass(frozen=True)
class Filing:
    number: str
    issued: date
    valid_until: date
    certifying_body: str
    digest: str
    ontology_version: str
    shapes_version: str
    dataset: str = ""
    verdict: str = "certified"
    scenarios: tuple[str, ...] = ()
    level: str | None = None
    grade: str | None = None
    #: the Warnings of a conditional outcome: {"requirement": ..., "message": {"zh": ..., "en": ...}}
    conditions: tuple[dict, ...] = ()
    signature: Signature | None = None

    @property
    def iri(self) -> URIRef:
        return URIRef(FILING_BASE + self.number)

    def to_dict(self) -> dict:
        return {
            "number": self.number, "issued": self.issued.isoformat(), "valid_until": self.valid_until.isoformat(),
            "status": "valid", "certifying_body": self.certifying_body, "sha256": self.digest,
            "ontology_version": self.ontology_version, "shapes_version": self.shapes_version,
            "dataset": self.dataset, "verdict": self.verdict, "scenarios": list(self.scenarios),
            "level": self.level, "grade": self.grade, "conditions": [dict(c) for c in self.conditions],
            "signature": self.signature.to_dict() if self.signature else None,
        }


def new_filing_number(on: date | None = None, prefix: str = "DC") -> str:
    """`<prefix>-YYYYMMDD-XXXXXXXXXX`: date of issue and 40 random bits, the one format of filing
    numbers (the catalog draws them from here and checks they are unused)."""
    return f"{prefix}-{(on or date.today()):%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"


def draft_numbers():
    """Filing numbers of a run that files nothing: DRAFT-1, DRAFT-2... (never stored)."""
    counter = iter(range(1, 10**9))
    return lambda: f"DRAFT-{next(counter)}"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def authorization_limit(graph: Graph | Index, ds) -> date | None:
    """The earliest `dcert:validUntil` of the dataset's source authorizations (P-04), if any."""
    reads = index(graph)
    days = [_day(v) for auth in reads.objects(ds, DCERT.sourceAuthorization) for v in reads.objects(auth, DCERT.validUntil)]
    return min((d for d in days if d is not None), default=None)


def _day(value) -> date | None:
    python = value.toPython() if isinstance(value, Literal) else None
    if isinstance(python, datetime):
        return python.date()
    return python if isinstance(python, date) else None


def description_of(graph: Graph | Index, ds) -> Graph:
    """The dataset's concise bounded description (W3C CBD, as rdflib's `Graph.cbd`): its
    triples, through blank nodes theirs, and the reifications of them."""
    out = Graph(store="SimpleMemory")  # no contexts: faster to fill, and a digest needs none
    add_all(out, description_triples(graph, ds))
    return out


def description_triples(graph: Graph | Index, ds) -> list[tuple]:
    """The triples of `description_of`. Built with a work list, not recursion: blank nodes nested
    thousands deep must not exhaust the stack."""
    reads = index(graph)
    reified = reads.has_predicate(RDF.subject)  # a graph with no reification needs no look-up a node
    out: list[tuple] = []
    todo, seen = [ds], {ds}

    def visit(node) -> None:
        if node not in seen:
            seen.add(node)
            todo.append(node)

    while todo:
        node = todo.pop()
        reifications: dict = {}
        if reified:
            for stmt in reads.subjects(RDF.subject, node):
                p, o = reads.value(stmt, RDF.predicate), reads.value(stmt, RDF.object)
                if p is not None and o is not None:
                    reifications.setdefault((p, o), set()).add(stmt)
        for p, objects in reads.predicate_objects(node).items():
            for o in objects:
                out.append((node, p, o))
                if isinstance(o, BNode):
                    visit(o)
                for stmt in reifications.get((p, o), ()):
                    visit(stmt)
    return out


def canonical_digest(graph: Graph | Iterable[tuple], where: str | None = None, texts: TermText | None = None) -> str:
    """SHA-256 (hex) of the RDFC-1.0 canonical N-Quads of `graph` (or of (s, p, o) triples;
    `where`: what it describes, named if the digest is refused; `texts`: a cache of term texts
    shared by the digests of a run)."""
    triples = list(graph)
    canonical = canonical_nquads(triples, texts)
    if canonical is None:  # blank nodes only the full algorithm tells apart: bounded, it may take long
        too_ambiguous = CanonicalisationLimitError(
            "the description is too ambiguous to canonicalise: its blank nodes are so alike that "
            f"RDFC-1.0 cannot tell them apart within its time budget (limit {setting_name('canonicalise_timeout_s')})",
            hint="give the nodes IRIs, or distinguishing properties, instead of interchangeable blank nodes",
            where=where, limit="canonicalise_timeout_s",
        )
        with phase("canonicalise", too_ambiguous):
            canonical = oxigraph_nquads(triples)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def filing_graph(filing: Filing, ds, verdict: URIRef, into: Graph | None = None) -> Graph:
    """The filing record as RDF, linked with PROV to the dataset it certifies; signed when
    `filing.signature` is set (see `sign`). Added to `into` if given (a batch's result graph:
    no graph per record to build and merge)."""
    g = into if into is not None else Graph()
    add_all(g, filing_triples(filing, ds, verdict))
    if filing.signature is not None:
        g += signature_graph(filing)
    return g


def filing_triples(filing: Filing, ds, verdict: URIRef) -> list[tuple]:
    """The triples of the unsigned record (`filing_graph`), written with terms made once (`vocab.Terms`)."""
    from .codes import codebook

    book = codebook()
    f = filing.iri
    activity, body = URIRef(f"{f}#certification"), URIRef(f"{f}#certifying-body")
    issued = literal(filing.issued)
    out = [(f, _RDF.type, _D.FilingRecord),
           (f, _RDFS.label, Literal(f"备案 {filing.number}", lang="zh")),
           (f, _RDFS.label, Literal(f"filing {filing.number}", lang="en")),
           (f, _D.filingNumber, Literal(filing.number)),
           (f, _DCT.issued, issued),
           (f, _D.validUntil, literal(filing.valid_until)),
           (f, _D.ontologyVersion, literal(filing.ontology_version)),
           (f, _D.shapesVersion, literal(filing.shapes_version)),
           (f, _D.descriptionDigest, Literal(filing.digest)),
           (f, _D.verdict, verdict),
           (f, _DCT.subject, ds)]
    for prop, codes in ((_D.approvedScenario, filing.scenarios), (_D.certifiedLevel, [filing.level]),
                        (_D.certifiedGrade, [filing.grade])):
        out += [(f, prop, book.by_notation[code].iri) for code in codes if code in book.by_notation]
    for i, condition in enumerate(filing.conditions, start=1):
        node = URIRef(f"{f}#condition-{i}")
        out += [(f, _D.condition, node), (node, _RDF.type, _D.Finding),
                (node, _D.requirement, literal(condition["requirement"])), (node, _SH.resultSeverity, _SH.Warning)]
        out += [(node, _SH.resultMessage, literal(text, lang)) for lang, text in sorted(condition["message"].items())]
    out += [(f, _D.certifyingBody, body), (body, _RDF.type, _D.CertifyingBody),
            (body, _FOAF.name, literal(filing.certifying_body)),
            (f, _PROV.wasGeneratedBy, activity), (f, _PROV.wasAttributedTo, body),
            (activity, _RDF.type, _D.CertificationActivity), (activity, _PROV.used, ds),
            (activity, _PROV.wasAssociatedWith, body), (activity, _PROV.endedAtTime, issued),
            (f, _D.filingStatus, STATUS_IRI["valid"])]
    return out


def signature_graph(filing: Filing) -> Graph:
    """The signature of a filing record as RDF (empty when unsigned)."""
    g = Graph()
    if filing.signature is not None:
        f, s = filing.iri, URIRef(f"{filing.iri}#signature")
        g.add((f, DCERT.signature, s))
        g.add((s, RDF.type, DCERT.FilingSignature))
        g.add((s, DCERT.signatureAlgorithm, Literal(filing.signature.algorithm)))
        g.add((s, DCERT.signingKey, Literal(filing.signature.key_id)))
        g.add((s, DCERT.signatureValue, Literal(filing.signature.value)))
    return g


# ---- signing and verifying ----------------------------------------------------------------


def record_triples(graph: Graph, iri: URIRef):
    """The triples of a filing record: about its IRI and the `#fragment` nodes it links to."""
    prefix = str(iri) + "#"
    yield from graph.triples((iri, None, None))
    parts = {o for o in graph.objects(iri, None) if isinstance(o, URIRef) and str(o).startswith(prefix)}
    for part in sorted(parts):
        yield from graph.triples((part, None, None))


def signed_content(graph: Graph, iri: URIRef) -> bytes:
    """What the signature covers: the record as issued in canonical N-Quads (UTF-8), i.e. without
    lifecycle and signature triples. Records have no blank nodes, so RDFC-1.0 is a sort."""
    signatures = set(graph.objects(iri, DCERT.signature))
    lines = []
    for s, p, o in record_triples(graph, iri):
        if p in LIFECYCLE or p == DCERT.signature or s in signatures:
            continue
        if isinstance(o, BNode):
            raise InputError(f"filing record {iri} has a blank node", hint="filing records name every node with an IRI")
        lines.append(f"{to_oxigraph(s, None)} {to_oxigraph(p, None)} {to_oxigraph(o, None)} .\n")
    return "".join(sorted(lines)).encode("utf-8")


def sign(filing: Filing, ds, verdict: URIRef, key) -> Filing:
    """The filing with the certifying body's signature over its record (see `signed_content`).
    A dataset without an IRI cannot be named by a signed record: it stays unsigned."""
    if isinstance(ds, BNode):
        return filing
    content = signed_content(filing_graph(filing, ds, verdict), filing.iri)
    value = base64.b64encode(key.sign(content)).decode("ascii")
    return replace(filing, signature=Signature(key_id=key.key_id, value=value))


def check_signature(graph: Graph, iri: URIRef, public_key) -> tuple[bool, str]:
    """Whether the record's signature is the given key's over the record; and why not."""
    node = graph.value(iri, DCERT.signature)
    if node is None:
        return False, "the record is not signed"
    key_id, value = graph.value(node, DCERT.signingKey), graph.value(node, DCERT.signatureValue)
    if str(key_id) != public_key.key_id:
        return False, f"signed with key {key_id}, not with the key given ({public_key.key_id})"
    try:
        raw = base64.b64decode(str(value), validate=True)
    except ValueError:
        return False, "the signature value is not Base64"
    if not public_key.verify(raw, signed_content(graph, iri)):
        return False, "the signature does not match the record: the record was changed after signing"
    return True, ""


# ---- reading a record back --------------------------------------------------------------------


@dataclass
class FilingState:
    """A filing record as read back (from the store or a file): its content and its life cycle."""

    filing: Filing
    stored_status: str = "valid"
    reason: str | None = None
    changed: str | None = None
    replaced_by: str | None = None

    def status(self, on: date | None = None) -> str:
        return status_on(self.stored_status, self.filing.valid_until, on)

    def to_dict(self, on: date | None = None) -> dict:
        out = self.filing.to_dict()
        out.update(status=self.status(on), status_reason=self.reason, status_changed=self.changed,
                   superseded_by=self.replaced_by)
        return out


def status_on(stored: str, valid_until: date, on: date | None = None) -> str:
    """The status on a day: the stored one, or `expired` once a valid filing is past its validity."""
    return "expired" if stored == "valid" and valid_until < (on or date.today()) else stored


def filing_iris(graph: Graph) -> list[URIRef]:
    return sorted(s for s in graph.subjects(RDF.type, DCERT.FilingRecord) if isinstance(s, URIRef))


def read_filing(graph: Graph, iri: URIRef) -> FilingState:
    """The filing record `iri` of `graph`; an InputError names what a malformed record lacks."""
    from .codes import codebook
    from .resources import ontology_graph

    book, onto = codebook(), ontology_graph()

    def one(prop, node=iri):
        value = graph.value(node, prop)
        if value is None:
            raise InputError(f"filing record {iri} has no {graph.namespace_manager.normalizeUri(prop)}",
                             hint="give the whole record as the certifying body published it")
        return value

    def day(prop) -> date:
        value = _day(one(prop))
        if value is None:
            raise InputError(f"filing record {iri}: {prop} is not a date", hint="dates are xsd:date")
        return value

    def codes(prop) -> list[str]:
        return book.notations(graph.objects(iri, prop))

    conditions = []
    for node in sorted(graph.objects(iri, DCERT.condition), key=_condition_order):
        conditions.append({"requirement": str(graph.value(node, DCERT.requirement)),
                           "message": {m.language or "en": str(m) for m in graph.objects(node, SH.resultMessage)
                                       if isinstance(m, Literal)}})
    signature = None
    signed = graph.value(iri, DCERT.signature)
    if signed is not None:
        signature = Signature(key_id=str(one(DCERT.signingKey, signed)), value=str(one(DCERT.signatureValue, signed)),
                              algorithm=str(one(DCERT.signatureAlgorithm, signed)))
    verdict = onto.value(one(DCERT.verdict), SKOS.notation)
    level, grade = codes(DCERT.certifiedLevel), codes(DCERT.certifiedGrade)
    filing = Filing(
        number=str(one(DCERT.filingNumber)), issued=day(DCTERMS.issued), valid_until=day(DCERT.validUntil),
        certifying_body=str(graph.value(one(DCERT.certifyingBody), FOAF.name) or ""),
        digest=str(one(DCERT.descriptionDigest)), ontology_version=str(one(DCERT.ontologyVersion)),
        shapes_version=str(one(DCERT.shapesVersion)), dataset=str(one(DCTERMS.subject)),
        verdict=str(verdict) if verdict is not None else "", scenarios=tuple(codes(DCERT.approvedScenario)),
        level=level[0] if level else None, grade=grade[0] if grade else None,
        conditions=tuple(conditions), signature=signature,
    )
    replaced = graph.value(iri, DCTERMS.isReplacedBy)
    changed = graph.value(iri, DCERT.statusChanged)
    reason = graph.value(iri, DCERT.statusReason)
    return FilingState(
        filing=filing, stored_status=STATUS_OF.get(URIRef(str(graph.value(iri, DCERT.filingStatus))), "valid"),
        reason=str(reason) if reason is not None else None, changed=str(changed) if changed is not None else None,
        replaced_by=str(replaced)[len(FILING_BASE):] if replaced is not None else None,
    )


def _condition_order(node) -> tuple:
    tail = str(node).rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, str(node))
