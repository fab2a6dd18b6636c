"""A tiny stand-in for engine runs, used only by the store's unit tests (never by the product).

It produces what `Engine.certify` hands the store: the parsed description (rdflib), the result
graph (result + filing nodes linked to the dataset) and the §6 result dicts.
"""

from __future__ import annotations

from datetime import date

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, XSD

from derivecert.certify import VERDICT_IRI
from derivecert.filing import Filing, filing_graph

DCERT = Namespace("https://w3id.org/derivecert#")
EX = Namespace("https://fake.example.org/")


def fake_run(
    dataset: str,
    *,
    verdict: str = "certified",
    title: str = "Fake dataset",
    scenario=("AS-PH",),
    technique=("GT-AGG",),
    level="L1",
    grade="D4",
    granularity="GR-POP",
    category=("C6",),
    modality=("MOD-TAB",),
    special=(),
    source: str | None = None,
    source_level: str = "L4",
    filing: str | None = "DC-20250101-TEST0001",
    depth: str = "primary",
):
    ds = URIRef(dataset)
    src = URIRef(source or dataset + "-source")
    g = Graph()
    g.add((src, RDF.type, DCAT.Dataset))
    g.add((src, DCERT.sensitivityLevel, DCERT[source_level]))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal(title, lang="en")))
    g.add((ds, DCTERMS.title, Literal(title + "（中文）", lang="zh")))
    g.add((ds, DCTERMS.description, Literal(f"Description of {title}", lang="en")))
    g.add((ds, PROV.wasDerivedFrom, src))
    act = BNode()
    g.add((ds, PROV.wasGeneratedBy, act))
    g.add((act, RDF.type, DCERT.DerivationActivity))
    for t in technique:
        g.add((act, DCERT.generationTechnique, DCERT[t]))
    m = BNode()
    g.add((ds, URIRef("http://www.w3.org/ns/dqv#hasQualityMeasurement"), m))
    g.add((m, URIRef("http://www.w3.org/ns/dqv#value"), Literal("0.97", datatype=XSD.decimal)))
    g.add((ds, DCTERMS.publisher, EX.hospital))
    g.add((EX.hospital, URIRef("http://xmlns.com/foaf/0.1/name"), Literal("Fake hospital")))

    rg = Graph()
    res = BNode()
    rg.add((res, RDF.type, DCERT.CertificationResult))  # as `certify.CertificationResult.to_graph` writes it
    rg.add((res, DCTERMS.subject, ds))
    rg.add((res, DCERT.verdict, VERDICT_IRI[verdict]))
    rg.add((res, DCERT.inferredType, DCERT.DerivedData))
    rg.add((res, DCERT.inferredType, DCERT.SecondaryDerivedData if depth == "secondary" else DCERT.PrimaryDerivedData))
    for prop, codes in [("applicationScenario", scenario), ("generationTechnique", technique),
                        ("subjectGranularity", [granularity]), ("dataModality", modality), ("healthDataCategory", category),
                        ("specialCategory", special), ("deidentificationGrade", [grade]), ("sensitivityLevel", [level])]:
        for code in codes:
            rg.add((res, DCERT[prop], DCERT[code]))
    if filing and verdict in ("certified", "conditional"):
        record = Filing(number=filing, issued=date(2025, 1, 1), valid_until=date(2027, 1, 1), certifying_body="Test body",
                        digest="0" * 64, ontology_version="0.1.0", shapes_version="0.1.0", dataset=dataset,
                        verdict=verdict, scenarios=tuple(scenario), level=level, grade=grade)
        rg += filing_graph(record, ds, DCERT[verdict.capitalize()])
        rg.add((record.iri, PROV.wasDerivedFrom, res))
    src_res = BNode()
    rg.add((src_res, RDF.type, DCERT.CertificationResult))
    rg.add((src_res, DCTERMS.subject, src))
    rg.add((src_res, DCERT.verdict, DCERT.NotDerived))

    results = [
        {
            "dataset": dataset, "is_derived": True, "derivation_depth": depth, "types": [],
            "classification": {
                "scenario": list(scenario), "technique": list(technique), "granularity": granularity,
                "modality": list(modality), "category": list(category), "special": list(special),
                "deidentification_grade": grade, "sensitivity_level": level,
                "level_candidates": [level], "personal_information": False,
            },
            "verdict": verdict, "findings": [],
            "filing": {"number": filing, "valid_until": "2027-01-01"} if filing and verdict in ("certified", "conditional") else None,
        },
        {"dataset": str(src), "is_derived": False, "derivation_depth": None, "types": [],
         "classification": {}, "verdict": "not-derived", "findings": [], "filing": None},
    ]
    return g, rg, results
