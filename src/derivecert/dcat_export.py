"""Published views of the catalog for registries: DCAT-AP 3 and HealthDCAT-AP (issue 11).

What a registry harvests is not what the store holds.  The store keeps bookkeeping (`idx:` terms,
JSON copies, the engine's result nodes) that only this node reads; a view keeps the author's
description, the signed filing record, and adds what DCAT-AP's class ranges and mandatory
properties need and what the certification establishes:

* the certification as a `dqv:QualityCertificate` annotation (`oa:hasBody` the filing record,
  `dct:conformsTo` the standard), the filing's status of today;
* the certified scenarios as DPV purposes and the certified grade as a DPV data nature, read from
  the ontology's alignments (only where DPV has a term: DPV has no sensitivity levels);
* the objects of DCAT-AP properties typed with the class DCAT-AP 3 gives as their range
  (`dct:publisher` a `foaf:Agent` with a `foaf:name`, `dct:accessRights` a
  `dct:RightsStatement`, ...), which the author's vocabulary implies but seldom states;
* a source the description names but does not describe gets a title and description saying so
  (DCAT-AP requires both of every `dcat:Dataset`), never facts about its content.

`catalog_page` builds one page of a `dcat:Catalog` (a node's or an institution's) as a Hydra
`PartialCollectionView`, so that a harvester (ckanext-dcat, a FAIR Data Point client) follows
`hydra:next` to the end.  Everything here reads the store through its public methods.

Over 400 lines because the two profiles (DCAT-AP, HealthDCAT-AP) map the same records with one
shared walk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

from .catalog import GENID_BASE, IDX, SearchQuery
from .parse import to_oxigraph
from .vocab import BASE, DCERT

DQV = Namespace("http://www.w3.org/ns/dqv#")
OA = Namespace("http://www.w3.org/ns/oa#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DPV_BASE = "https://w3id.org/dpv"
DPV = Namespace(DPV_BASE + "#")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
D = Namespace(DCERT)

PROFILES = ("dcat-ap", "healthdcat-ap")
StatusReader = Callable[[str], "str | None"]
#: the group standard the certification conforms to (a node of the published views)
STANDARD = URIRef(BASE + "/standard")
STANDARD_TITLE = {"zh": "医疗健康领域衍生数据认定标准",
                  "en": "Identification and certification of derived data in the medical and health domain"}
#: EU data theme "Health": every dataset certified here is medical or health data by the standard's scope
THEME_HEALTH = URIRef("http://publications.europa.eu/resource/authority/data-theme/HEAL")

#: DCAT-AP 3.0.0 class ranges (the SEMIC range shapes) of the properties descriptions use
RANGES: dict[URIRef, URIRef] = {
    DCTERMS.publisher: FOAF.Agent,
    DCTERMS.creator: FOAF.Agent,
    DCTERMS.accessRights: DCTERMS.RightsStatement,
    DCTERMS.rights: DCTERMS.RightsStatement,
    DCTERMS.conformsTo: DCTERMS.Standard,
    DCTERMS.accrualPeriodicity: DCTERMS.Frequency,
    DCTERMS.license: DCTERMS.LicenseDocument,
    DCTERMS.spatial: DCTERMS.Location,
    DCTERMS.temporal: DCTERMS.PeriodOfTime,
    DCTERMS.provenance: DCTERMS.ProvenanceStatement,
    DCTERMS.language: DCTERMS.LinguisticSystem,
    DCTERMS.format: DCTERMS.MediaTypeOrExtent,
    DCAT.mediaType: DCTERMS.MediaType,
    DCAT.contactPoint: VCARD.Kind,
    DCAT.distribution: DCAT.Distribution,
    PROV.wasGeneratedBy: PROV.Activity,
}
#: HealthDCAT-AP (draft) class ranges beyond DCAT-AP's
HEALTHDCAT_AP_RANGES: dict[URIRef, URIRef] = {
    DCAT.theme: SKOS.Concept,
    DPV.hasPurpose: DPV.Purpose,
    HEALTHDCATAP.hasCodingSystem: DCTERMS.Standard,
}
HEALTHDCAT_AP_COUNTS = (HEALTHDCATAP.numberOfRecords, HEALTHDCATAP.numberOfUniqueIndividuals,
                        HEALTHDCATAP.minTypicalAge, HEALTHDCATAP.maxTypicalAge)
#: where an agent's name may be read when it has no foaf:name
NAME_PROPERTIES = (RDFS.label, SKOS.prefLabel, VCARD.fn, DCTERMS.title)

#: HealthDCAT-AP properties a certified description cannot supply: what the node would need to
#: know and does not.  The healthdcat-ap test checks the only Violations left are on these paths.
HEALTHDCAT_AP_UNFILLED: dict[str, str] = {
    "http://healthdataportal.eu/ns/health#hdab": "the health data access body: this node has none (EHDS bodies are EU institutions)",
    "http://healthdataportal.eu/ns/health#publisherType": "the publisher's EHDS type: not part of a DeriveCert description",
    "http://healthdataportal.eu/ns/health#publisherNote": "a note on the publisher's trust status: not part of a DeriveCert description",
    "http://healthdataportal.eu/ns/health#trustedDataHolder": "whether the publisher is an EHDS trusted data holder: an EU designation",
    "http://healthdataportal.eu/ns/health#healthCategory": "an EHDS Art. 33 category IRI: the draft shapes' code list is not published",
    "http://data.europa.eu/r5r/applicableLegislation": "an ELI legal resource: the Chinese laws (PIPL, DSL) have no ELI",
    "http://www.w3.org/ns/dcat#distribution": "a distribution: only when the author describes one",
    "http://purl.org/dc/terms/accessRights": "access rights: only when the author states them",
    "http://purl.org/dc/terms/spatial": "geographic coverage: only when the author states it",
    "http://purl.org/dc/terms/provenance": "a source's provenance: the node knows the source by name only (a certified dataset has one)",
    "http://purl.org/dc/terms/type": "a type from the EU dataset-type list: not part of a DeriveCert description",
    "http://www.w3.org/ns/adms#sample": "a sample distribution: only when the author describes one",
    "http://purl.org/dc/terms/temporal": "temporal coverage: only when the author states it",
    "http://healthdataportal.eu/ns/health#numberOfRecords": "the number of records: only when the author states it",
    "http://healthdataportal.eu/ns/health#numberOfUniqueIndividuals": "the number of individuals: only when the author states it",
    "http://healthdataportal.eu/ns/health#populationCoverage": "population coverage: only when the author states it",
    "http://healthdataportal.eu/ns/health#minTypicalAge": "typical ages: only when the author states them",
    "http://healthdataportal.eu/ns/health#maxTypicalAge": "typical ages: only when the author states them",
    "http://purl.org/dc/terms/publisher": "the publisher's HealthDCAT-AP properties above (publisherType, trustedDataHolder ...)",
    "http://healthdataportal.eu/ns/health#healthTheme": "a health theme from the draft's Wikidata list: no mapping from the standard's categories",
    # of the sources a description names without describing them (the node knows only their IRI
    # and title), and of contact points and agents: only when the author states them
    "http://purl.org/dc/terms/identifier": "a source's identifier (or an identifier typed as a literal the draft does not accept)",
    "http://www.w3.org/ns/dcat#theme": "a source's theme: the node does not certify sources",
    "http://www.w3.org/ns/dcat#keyword": "keywords: only when the author states them",
    "http://www.w3.org/ns/dcat#contactPoint": "a contact point's URL (vcard:hasURL): only when the author states it",
    "http://www.w3.org/2006/vcard/ns#hasURL": "a contact point's URL: only when the author states it",
    "http://xmlns.com/foaf/0.1/homepage": "an agent's homepage: only when the author states it",
    "http://xmlns.com/foaf/0.1/mbox": "an agent's mailbox: only when the author states it",
    "https://w3id.org/dpv#hasPurpose": "a source's purposes (a scenario with no DPV purpose: AS-HM, AS-INS, AS-ADMIN, AS-IND, AS-EDU)",
}


def to_rdflib(triples: Iterable[ox.Triple]) -> Graph:
    """Oxigraph triples (skolem IRIs of the store back to blank nodes) as an rdflib graph."""
    def term(t):
        if isinstance(t, ox.NamedNode):
            if t.value.startswith(GENID_BASE):  # labelled by the skolem IRI: a view's bytes are stable
                return BNode("g" + t.value[len(GENID_BASE):])  # an NCName (RDF/XML nodeID)
            return URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return BNode("b" + t.value)
        if t.language:
            return Literal(t.value, lang=t.language)
        return Literal(t.value, datatype=URIRef(t.datatype.value))

    g = Graph()
    for t in triples:
        g.add((term(t.subject), term(t.predicate), term(t.object)))
    return g


def view_triples(g: Graph) -> list[ox.Triple]:
    """The graph as sorted Oxigraph triples, blank nodes keeping their labels: one graph always
    serialises to the same bytes (the ETag of a representation is their digest)."""
    def term(t):
        return to_oxigraph(t, lambda node: ox.BlankNode(str(node)))

    return sorted((ox.Triple(term(s), term(p), term(o)) for s, p, o in g), key=str)


def is_bookkeeping(term) -> bool:
    """A term only this node reads: the store's index vocabulary and the engine's result nodes
    (the certification is published as the filing record and its annotation)."""
    return isinstance(term, URIRef) and (str(term).startswith(IDX) or str(term).startswith(BASE + "/result/"))


def strip_bookkeeping(g: Graph) -> Graph:
    for triple in list(g):
        if any(is_bookkeeping(t) for t in triple):
            g.remove(triple)
    return g


@functools.lru_cache(maxsize=1)
def dpv_equivalents() -> dict[tuple[URIRef, URIRef], list[URIRef]]:
    """(dcert property, value) -> the DPV terms the ontology's alignments map to that value, in
    the ontology's order: purposes for scenarios (`dcert:PurposeScenario-*`), data natures for
    grades (`dcert:GradeFromDataNature-*`).  Read from the axioms, never listed here."""
    from .resources import ontology_graph

    onto = ontology_graph()
    out: dict[tuple[URIRef, URIRef], list[URIRef]] = {}
    # the class's inferred value, the property it is inferred on, the DPV property its union reads
    readings = ((D.purposeScenario, D.applicationScenario, DPV.hasPurpose),
                (D.deidentificationGrade, D.deidentificationGrade, DPV.hasData))
    for inferred, prop, dpv_prop in readings:
        for cls, restriction in onto.subject_objects(RDFS.subClassOf):
            if onto.value(restriction, OWL.onProperty) != inferred:
                continue
            value = onto.value(restriction, OWL.hasValue)
            for eq in onto.objects(cls, OWL.equivalentClass):
                union = onto.value(eq, OWL.unionOf)
                for member in Collection(onto, union) if union is not None else ():
                    term = onto.value(member, OWL.hasValue)
                    if (onto.value(member, OWL.onProperty) == dpv_prop and isinstance(term, URIRef)
                            and str(term).startswith(DPV_BASE)):
                        out.setdefault((prop, value), []).append(term)
    return out


def _name_of(g: Graph, node) -> list[Literal]:
    for prop in NAME_PROPERTIES:
        names = [o for o in g.objects(node, prop) if isinstance(o, Literal)]
        if names:
            return names
    return [Literal(str(node))] if isinstance(node, URIRef) else []


def type_ranges(g: Graph) -> None:
    """Type the objects of DCAT-AP properties with their DCAT-AP class range; give every agent
    a `foaf:name` (its label, or its IRI when it has none: the only name the node knows)."""
    for prop, cls in RANGES.items():
        for obj in set(g.objects(None, prop)):
            if not isinstance(obj, Literal):
                g.add((obj, RDF.type, cls))
    for agent in set(g.subjects(RDF.type, FOAF.Agent)):
        if g.value(agent, FOAF.name) is None:
            for name in _name_of(g, agent):
                g.add((agent, FOAF.name, name))


def describe_sources(g: Graph, datasets: Iterable[URIRef]) -> None:
    """A `dcat:Dataset` named as a source but not described gets the title and description
    DCAT-AP requires, saying only what the node knows: which dataset names it."""
    for ds in datasets:
        for source in set(g.objects(ds, PROV.wasDerivedFrom)) | set(g.objects(ds, DCTERMS.source)):
            if (source, RDF.type, DCAT.Dataset) not in g or source in datasets:
                continue
            if g.value(source, DCTERMS.title) is None:
                g.add((source, DCTERMS.title, Literal(f"来源数据集 {source}", lang="zh")))
                g.add((source, DCTERMS.title, Literal(f"source dataset {source}", lang="en")))
            if g.value(source, DCTERMS.description) is None:
                g.add((source, DCTERMS.description, Literal(
                    f"数据集 {ds} 的来源数据集，由其描述引用；本节点不认定它，也没有它的描述。", lang="zh")))
                g.add((source, DCTERMS.description, Literal(
                    f"A source dataset of {ds}, named by its description; this node neither certifies "
                    "nor describes it.", lang="en")))


@dataclass
class Certification:
    """What the filing record states, read from the view itself."""

    filing: URIRef
    dataset: URIRef
    scenarios: list[URIRef]
    grade: URIRef | None
    issued: Literal | None
    body: URIRef | None


def certifications(g: Graph) -> list[Certification]:
    out = []
    for filing in g.subjects(RDF.type, D.FilingRecord):
        dataset = g.value(filing, DCTERMS.subject)
        if dataset is None:
            continue
        out.append(Certification(
            filing=filing, dataset=dataset, scenarios=sorted(g.objects(filing, D.approvedScenario)),
            grade=g.value(filing, D.certifiedGrade), issued=g.value(filing, DCTERMS.issued),
            body=g.value(filing, D.certifyingBody)))
    return out


def annotate_certification(g: Graph, cert: Certification, status: str | None = None) -> None:
    """The certification as a DQV quality certificate on the dataset, the certified scenarios as
    DPV purposes and the grade as a DPV data nature, and the filing's status of today."""
    annotation = URIRef(str(cert.filing) + "#quality-certificate")
    g.add((cert.dataset, DQV.hasQualityAnnotation, annotation))
    g.add((annotation, RDF.type, DQV.QualityCertificate))
    g.add((annotation, OA.hasTarget, cert.dataset))
    g.add((annotation, OA.hasBody, cert.filing))
    g.add((annotation, OA.motivatedBy, DQV.qualityAssessment))
    g.add((annotation, DCTERMS.conformsTo, STANDARD))
    if cert.issued is not None:
        g.add((annotation, DCTERMS.issued, cert.issued))
    if cert.body is not None:
        g.add((annotation, PROV.wasAttributedTo, cert.body))
        g.add((cert.body, RDF.type, FOAF.Agent))
    g.add((cert.dataset, DCTERMS.conformsTo, STANDARD))
    g.add((STANDARD, RDF.type, DCTERMS.Standard))
    for lang, title in STANDARD_TITLE.items():
        g.add((STANDARD, DCTERMS.title, Literal(title, lang=lang)))
    equivalents = dpv_equivalents()
    for scenario in cert.scenarios:
        for purpose in equivalents.get((D.applicationScenario, scenario), [])[:1]:
            g.add((cert.dataset, DPV.hasPurpose, purpose))
    if cert.grade is not None:
        for nature in equivalents.get((D.deidentificationGrade, cert.grade), [])[:1]:
            g.add((cert.dataset, DPV.hasData, nature))
    if status is not None:
        g.set((cert.filing, D.filingStatus, D[status.capitalize()]))
    state_provenance(g, cert)


def state_provenance(g: Graph, cert: Certification) -> None:
    """The derivation and its certification as a DCAT-AP provenance statement (text, zh/en), from
    the description's sources and techniques and the filing number."""
    from .wording import code_label

    sources = set(g.objects(cert.dataset, PROV.wasDerivedFrom)) | set(g.objects(cert.dataset, DCTERMS.source))
    sources |= {s for a in g.objects(cert.dataset, PROV.wasGeneratedBy) for s in g.objects(a, PROV.used)}
    techniques = sorted({str(t)[len(DCERT):] for a in g.objects(cert.dataset, PROV.wasGeneratedBy)
                         for t in g.objects(a, D.generationTechnique) if str(t).startswith(DCERT)})
    number = g.value(cert.filing, D.filingNumber)
    statement = URIRef(str(cert.filing) + "#provenance")
    g.add((cert.dataset, DCTERMS.provenance, statement))
    g.add((statement, RDF.type, DCTERMS.ProvenanceStatement))
    g.add((statement, RDFS.label, Literal(
        f"由 {len(sources)} 个来源数据集经{'、'.join(code_label(t, 'zh') for t in techniques)}加工衍生；"
        f"依《{STANDARD_TITLE['zh']}》认定，备案号 {number}。", lang="zh")))
    g.add((statement, RDFS.label, Literal(
        f"Derived from {len(sources)} source dataset(s) by {', '.join(code_label(t, 'en') for t in techniques)}; "
        f"certified under the group standard '{STANDARD_TITLE['en']}', filing {number}.", lang="en")))


def add_healthdcat_ap(g: Graph, datasets: Iterable[URIRef]) -> None:
    """What HealthDCAT-AP asks beyond DCAT-AP that the certification establishes: the EU
    health theme (every certified dataset is medical or health data, the standard's scope), its
    class ranges, and counts as `xsd:nonNegativeInteger` (the same number, its draft's type)."""
    for ds in datasets:
        g.add((ds, DCAT.theme, THEME_HEALTH))
    g.add((THEME_HEALTH, SKOS.prefLabel, Literal("卫生健康", lang="zh")))
    g.add((THEME_HEALTH, SKOS.prefLabel, Literal("Health", lang="en")))
    for prop, cls in HEALTHDCAT_AP_RANGES.items():
        for obj in set(g.objects(None, prop)):
            if not isinstance(obj, Literal):
                g.add((obj, RDF.type, cls))
    for prop in HEALTHDCAT_AP_COUNTS:
        for s, o in list(g.subject_objects(prop)):
            if isinstance(o, Literal) and isinstance(o.toPython(), int) and o.toPython() >= 0:
                g.remove((s, prop, o))
                g.add((s, prop, Literal(str(o.toPython()), datatype=XSD.nonNegativeInteger)))


def publish(g: Graph, profile: str = "dcat-ap", stored_status: StatusReader | None = None,
            today: date | None = None) -> Graph:
    """The published view (in place) of a graph holding filed datasets with their filing
    records: bookkeeping removed, DCAT-AP ranges typed, certifications annotated with the
    filing's status on `today` (`stored_status`: the store's `filing_status`)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    strip_bookkeeping(g)
    certs = certifications(g)
    datasets = [c.dataset for c in certs]
    for cert in certs:
        annotate_certification(g, cert, _status_today(g, cert.filing, stored_status, today))
    describe_sources(g, datasets)
    type_ranges(g)
    if profile == "healthdcat-ap":
        add_healthdcat_ap(g, datasets)
    bind_prefixes(g)
    return g


def _status_today(g: Graph, filing: URIRef, stored_status: StatusReader | None, today: date | None) -> str | None:
    from .filing import status_on

    number, valid_until = g.value(filing, D.filingNumber), g.value(filing, D.validUntil)
    if stored_status is None or number is None or valid_until is None:
        return None
    return status_on(stored_status(str(number)) or "valid", date.fromisoformat(str(valid_until)[:10]), today)


def bind_prefixes(g: Graph) -> None:
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("prov", PROV), ("dqv", DQV),
                       ("oa", OA), ("hydra", HYDRA), ("vcard", VCARD), ("dpv", DPV), ("dcert", D),
                       ("healthdcatap", HEALTHDCATAP)):
        g.bind(prefix, ns, override=True)


def export_files(engine, paths, profile: str, rdf_format: str, on: date | None = None) -> tuple[str, list[str]]:
    """`derivecert export`: certify the files as one batch and serialise the published view of
    the descriptions with the run's filing records; also the datasets rejected."""
    graph, origin = engine.load_files(paths)
    run = engine.certify_graph(graph, origin, on=on)
    view = Graph()
    view += run.description
    view += run.result_graph
    publish(view, profile)
    rejected = [str(r.dataset) for r in run.results if r.verdict == "rejected"]
    return view.serialize(format=rdf_format), rejected


# -- catalog pages -----------------------------------------------------------------------------


@dataclass
class CatalogPage:
    """One page of a catalog: who it is, where it is, which page."""

    iri: str                       # the catalog's IRI: its URL on this node
    title: dict[str, str]
    description: dict[str, str]
    publisher: str                 # IRI of the publishing agent
    publisher_name: dict[str, str]
    institution: str | None        # None: the node's catalog (every institution)
    offset: int
    limit: int
    profile: str = "dcat-ap"
    publisher_homepage: str | None = None

    def url(self, offset: int) -> str:
        query = f"offset={offset}&limit={self.limit}"
        if self.profile != "dcat-ap":
            query += f"&profile={self.profile}"
        return f"{self.iri}?{query}"


def catalog_page(store, page: CatalogPage) -> tuple[Graph, dict[str, str | None]]:
    """The page's graph and its Hydra links (first, prev, next, last).  Records in the order they
    were filed (oldest first), so that a harvest walking the pages sees a stable order."""
    filters = {"institution": [page.institution]} if page.institution else {}
    result = store.search(SearchQuery(filters=filters, offset=page.offset, limit=page.limit, sort="modified"))
    g = Graph()
    for entry in result.items:
        for triple in to_rdflib(store.dataset_triples(entry.key)):
            g.add(triple)
    publish(g, page.profile, store.filing_status)

    catalog = URIRef(page.iri)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, RDF.type, HYDRA.Collection))
    for lang, text in page.title.items():
        g.add((catalog, DCTERMS.title, Literal(text, lang=lang)))
    for lang, text in page.description.items():
        g.add((catalog, DCTERMS.description, Literal(text, lang=lang)))
    publisher = URIRef(page.publisher)
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    for lang, text in page.publisher_name.items():
        g.add((publisher, FOAF.name, Literal(text, lang=lang)))
    if page.publisher_homepage:
        g.add((publisher, FOAF.homepage, URIRef(page.publisher_homepage)))
    g.add((catalog, HYDRA.totalItems, Literal(result.total, datatype=XSD.integer)))
    for entry in result.items:
        dataset, record = URIRef(entry.dataset), URIRef(f"{page.iri}/record/{entry.key}")
        g.add((catalog, DCAT.dataset, dataset))
        g.add((catalog, DCAT.record, record))
        g.add((catalog, HYDRA.member, dataset))
        # the store's record IRI is bookkeeping: the published record is the catalog's own
        g.add((record, RDF.type, DCAT.CatalogRecord))
        g.add((record, FOAF.primaryTopic, dataset))
        g.add((record, DCTERMS.issued, Literal(entry.issued, datatype=XSD.dateTime)))
        g.add((record, DCTERMS.modified, Literal(entry.modified, datatype=XSD.dateTime)))
    for old in set(g.subjects(FOAF.primaryTopic, None)):
        if str(old).startswith(BASE + "/record/"):
            g.remove((old, None, None))

    last = max(0, (result.total - 1) // page.limit * page.limit)
    links: dict[str, str | None] = {
        "first": page.url(0), "last": page.url(last),
        "prev": page.url(max(0, page.offset - page.limit)) if page.offset > 0 else None,
        "next": page.url(page.offset + page.limit) if page.offset + page.limit < result.total else None,
    }
    view = URIRef(page.url(page.offset))
    g.add((catalog, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    for rel, prop in (("first", HYDRA.first), ("last", HYDRA.last), ("prev", HYDRA.previous), ("next", HYDRA.next)):
        if links[rel]:
            g.add((view, prop, URIRef(links[rel])))
    return g, links


def dataset_view(store, key: str, profile: str = "dcat-ap") -> Graph:
    """One filed dataset's published view (empty when the key is not filed)."""
    return publish(to_rdflib(store.dataset_triples(key)), profile, store.filing_status)
