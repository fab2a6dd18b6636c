"""Examples and fragments shared by the OpenAPI description of the endpoints."""

from __future__ import annotations

EXAMPLE_TURTLE = """@prefix dcert: <https://w3id.org/derivecert#> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dpv: <https://w3id.org/dpv#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://cdc.example.org/> .

ex:ili-surveillance a dcat:Dataset ; dct:publisher ex:cdc ;
  dpv:hasLegalBasis dcert:LB-LEGAL-DUTY ; dcert:sensitivityLevel dcert:L4 .

ex:ili-weekly a dcat:Dataset ;
  dct:title "流感样病例周报统计"@zh , "Weekly influenza-like illness counts"@en ;
  dct:identifier "CDC-ILI-W" ; dct:publisher ex:cdc ;
  prov:wasDerivedFrom ex:ili-surveillance ;
  prov:wasGeneratedBy [ a dcert:DerivationActivity ; dcert:generationTechnique dcert:GT-AGG ;
      prov:wasAssociatedWith ex:cdc ; prov:endedAtTime "2026-01-05T00:00:00Z"^^xsd:dateTime ] ;
  dcert:applicationScenario dcert:AS-PH ; dcert:deidentificationGrade dcert:D4 ;
  dcert:subjectGranularity dcert:GR-POP .
"""


def rdf_body(description: str = "An RDF description (Turtle, JSON-LD, RDF/XML or N-Triples; by Content-Type)") -> dict:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "text/turtle": {"schema": {"type": "string"}, "example": EXAMPLE_TURTLE},
                "application/ld+json": {"schema": {"type": "object"}},
                "application/rdf+xml": {"schema": {"type": "string"}},
                "application/n-triples": {"schema": {"type": "string"}},
            },
        }
    }


EXAMPLE_RESULT = {
    "dataset": "https://cdc.example.org/ili-weekly",
    "is_derived": True,
    "derivation_depth": "primary",
    "types": ["AggregatedStatisticalData"],
    "classification": {
        "scenario": ["AS-PH"], "technique": ["GT-AGG"], "granularity": "GR-POP",
        "modality": ["MOD-TAB"], "category": ["C6"], "special": [],
        "deidentification_grade": "D4", "sensitivity_level": "L1",
        "level_candidates": ["L1"], "personal_information": False,
    },
    "verdict": "conditional",
    "findings": [{"requirement": "Q-01", "severity": "Warning", "focus": "https://cdc.example.org/ili-weekly",
                  "path": "http://www.w3.org/ns/dqv#hasQualityMeasurement",
                  "message": {"zh": "缺少部分质量度量", "en": "some quality measurements are missing"}}],
    "filing": {"number": "DC-20260105-7K3F9Q2M", "valid_until": "2028-01-05"},
}

PROBLEM = {
    "application/problem+json": {
        "schema": {"type": "object"},
        "example": {"type": "https://w3id.org/derivecert/problems/not-found", "title": "Not found",
                    "status": 404, "detail": "no dataset 0123456789abcdef", "code": "not-found",
                    "instance": "/v1/datasets/0123456789abcdef"},
    }
}


def problems(*statuses: int) -> dict:
    return {s: {"description": "Problem details (RFC 9457)", "content": PROBLEM} for s in statuses}
