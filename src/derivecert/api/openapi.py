"""Examples and fragments shared by the OpenAPI description of the endpoints."""

from __future__ import annotations

from typing import Any

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


EXAMPLE_RESULT: dict[str, Any] = {
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
    "filing": {"number": "DC-20260105-0A7C332A5D", "valid_until": "2028-01-05"},
}

PROBLEM = {
    "application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"},
        "example": {"type": "https://w3id.org/derivecert/problems/not-found", "title": "Not found",
                    "status": 404, "detail": "no dataset 0123456789abcdef", "code": "not-found",
                    "instance": "/v1/datasets/0123456789abcdef"},
    }
}


def problems(*statuses: int) -> dict:
    return {s: {"description": "Problem details (RFC 9457)", "content": PROBLEM} for s in statuses}


# -- the finished description: every status with its content types and schemas ------------------
#
# Routers declare their own statuses; `finalise` adds what every route of a kind can answer
# (validation errors are 400, not FastAPI's 422; 401 where a token may be needed; 406 where the
# answer is negotiated; 500; 503 where the store or the engine is used) and gives every content
# type a schema, so that a client, or Schemathesis, can check each answer against it.

NULLABLE_STRING = {"type": ["string", "null"]}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}

SCHEMAS: dict[str, dict] = {
    "Problem": {
        "type": "object", "description": "Problem details (RFC 9457) with DeriveCert's stable `code` and a `hint`",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599}, "detail": {"type": "string"},
            "code": {"type": "string"}, "instance": {"type": "string"}, "hint": {"type": "string"},
        },
    },
    "Classification": {
        "type": "object",
        "properties": {
            "scenario": {"type": "array", "items": {"type": "string"}},
            "technique": {"type": "array", "items": {"type": "string"}},
            "granularity": NULLABLE_STRING, "deidentification_grade": NULLABLE_STRING,
            "sensitivity_level": NULLABLE_STRING,
        },
    },
    "FilingSummary": {
        "type": ["object", "null"],
        "properties": {"number": {"type": "string"}, "valid_until": NULLABLE_STRING},
    },
    "Result": {
        "type": "object", "description": "The §6 certification result of one dataset",
        "required": ["dataset", "verdict", "classification", "findings"],
        "properties": {
            "dataset": {"type": "string"}, "is_derived": {"type": "boolean"},
            "derivation_depth": NULLABLE_STRING, "types": {"type": "array", "items": {"type": "string"}},
            "classification": {"$ref": "#/components/schemas/Classification"},
            "verdict": {"type": "string", "enum": ["certified", "conditional", "rejected", "not-derived"]},
            "findings": {"type": "array", "items": {"type": "object", "required": ["requirement", "severity"]}},
            "notices": {"type": "array", "items": {"type": "object"}},
            "filing": {"$ref": "#/components/schemas/FilingSummary"},
        },
    },
    "DatasetItem": {
        "type": "object", "required": ["id", "dataset", "institution", "verdict", "links"],
        "properties": {
            "id": {"type": "string"}, "dataset": {"type": "string"}, "institution": {"type": "string"},
            "title": LABELS, "verdict": {"type": "string"}, "derivation_depth": NULLABLE_STRING,
            "classification": {"$ref": "#/components/schemas/Classification"},
            "filing": {"$ref": "#/components/schemas/FilingSummary"},
            "issued": {"type": "string"}, "modified": {"type": "string"}, "origin": {"type": "string"},
            "links": {"type": "object"},
        },
    },
    "SearchResult": {
        "type": "object", "required": ["total", "offset", "limit", "items", "facets", "links"],
        "properties": {
            "total": {"type": "integer", "minimum": 0}, "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1}, "sort": {"type": "string"}, "query": {"type": "object"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/DatasetItem"}},
            "facets": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["label", "values"],
                "properties": {"label": LABELS, "values": {"type": "array", "items": {
                    "type": "object", "required": ["code", "count", "selected"],
                    "properties": {"code": {"type": "string"}, "label": {"type": ["object", "null"]},
                                   "count": {"type": "integer"}, "selected": {"type": "boolean"}}}}}}},
            "links": {"type": "object"}, "federated": {"type": "boolean"}, "partial": {"type": "boolean"},
            "origins": {"type": "array"}, "errors": {"type": "array"},
        },
    },
    "Dataset": {
        "description": "The §6 result of a filed dataset with its record's metadata",
        "allOf": [{"$ref": "#/components/schemas/Result"}, {
            "type": "object", "required": ["id", "institution", "issued", "modified", "links"],
            "properties": {"id": {"type": "string"}, "institution": {"type": "string"},
                           "title": {"type": ["object", "null"]}, "issued": {"type": "string"},
                           "modified": {"type": "string"}, "links": {"type": "object"}}}],
    },
    "Filing": {
        "type": "object", "required": ["number", "status", "dataset", "id", "institution", "verdict"],
        "properties": {
            "number": {"type": "string"}, "status": {"type": "string"}, "valid_until": NULLABLE_STRING,
            "dataset": {"type": "string"}, "id": {"type": "string"}, "institution": {"type": "string"},
            "verdict": {"type": "string"}, "conditions": {"type": "array"}, "links": {"type": "object"},
        },
    },
    "Institutions": {
        "type": "object", "required": ["institutions"],
        "properties": {"institutions": {"type": "array", "items": {
            "type": "object", "required": ["id", "datasets", "graph"],
            "properties": {"id": {"type": "string"}, "name": LABELS, "homepage": NULLABLE_STRING,
                           "datasets": {"type": "integer", "minimum": 0}, "graph": {"type": "string"},
                           "links": {"type": "object"}}}}},
    },
    "Submission": {
        "type": "object", "required": ["stored", "institution", "results", "datasets"],
        "properties": {
            "stored": {"type": "boolean"}, "dry_run": {"type": "boolean"}, "institution": {"type": "string"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            "datasets": {"type": "array", "items": {
                "type": "object", "required": ["id", "dataset", "verdict"],
                "properties": {"id": {"type": "string"}, "dataset": {"type": "string"}, "verdict": {"type": "string"},
                               "filing": {"$ref": "#/components/schemas/FilingSummary"},
                               "replaced": {"type": "boolean"}, "links": {"type": "object"}}}},
        },
    },
}

#: JSON answers of the catalog routes, by (method, path) and status
JSON_SCHEMAS = {
    ("get", "/v1/datasets", "200"): "SearchResult",
    ("get", "/v1/datasets/{ident}", "200"): "Dataset",
    ("get", "/v1/filings/{number}", "200"): "Filing",
    ("get", "/v1/institutions", "200"): "Institutions",
    ("put", "/v1/institutions/{institution}/datasets", "200"): "Submission",
    ("put", "/v1/institutions/{institution}/datasets", "201"): "Submission",
}

#: schema of answers in a media type no route describes further
SCHEMA_BY_MEDIA_TYPE = {
    "application/json": {"type": "object"},
    "application/ld+json": {"type": ["object", "array"]},
    "application/sparql-results+json": {"type": "object"},
}
TEXT = {"type": "string"}

#: answers a route gives besides those it declares: the SPARQL endpoint shows its query form
#: (HTML) to a request that carries no query
EXTRA_CONTENT = {("get", "/sparql", "200"): "text/html", ("post", "/sparql", "200"): "text/html"}

#: the exact formats of path parameters (the routes check them and name them in a 4xx)
PATH_PATTERNS = {
    "ident": {"pattern": r"^([0-9A-Fa-f]{16}|[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+)$",
              "description": "the dataset's id (16 hexadecimal digits) or its absolute IRI, percent-encoded"},
    "institution": {"pattern": r"^[a-z0-9][a-z0-9-]{0,62}$",
                    "description": "the institution's id: a lower-case slug (a-z, 0-9, '-')"},
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
DESCRIPTIONS = {
    400: "Bad request: a parameter, header or body is invalid (which one, and how to fix it, in `detail` and `hint`)",
    401: "A bearer token is needed (writes; reads when the node's reads are closed)",
    406: "None of the accepted media types is offered (the offers in `hint`)",
    500: "Internal error (logged); no traceback is ever returned",
    503: "The store or the certification engine is unavailable, or a query ran past its time limit",
}


def problem_response(status: int, description: str | None = None) -> dict:
    return {"description": description or DESCRIPTIONS.get(status, "Problem details (RFC 9457)"),
            "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


def finalise(schema: dict, route_facts: dict[tuple[str, str], dict[str, bool]]) -> dict:
    """Complete the generated description in place (see the comment above).  `route_facts` says,
    per (method, path): `auth` (a token may be needed) and `backend` (store or engine used)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            facts = route_facts.get((method, path), {})
            validation = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in str(validation.get("schema", "")):
                del responses["422"]
            add = [500]
            if op.get("parameters") or op.get("requestBody"):
                add.append(400)
            if facts.get("auth"):
                add.append(401)
            ok = responses.get("200", {}).get("content", {})
            if len(ok) > 1:
                add.append(406)
            if facts.get("backend"):
                add.append(503)
            for status in add:
                responses.setdefault(str(status), problem_response(status))
            for status, response in responses.items():
                extra = EXTRA_CONTENT.get((method, path, status))
                if extra:
                    response.setdefault("content", {}).setdefault(extra, {"schema": TEXT})
            for param in op.get("parameters", []):
                fmt = PATH_PATTERNS.get(param["name"]) if param.get("in") == "path" else None
                if fmt:
                    param.setdefault("description", fmt["description"])
                    param["schema"] = {**param.get("schema", {}), "pattern": fmt["pattern"]}
            for status, response in responses.items():
                content = response.get("content")
                if content is None:
                    continue
                for media_type, body in content.items():
                    if body.get("schema"):
                        continue
                    named = JSON_SCHEMAS.get((method, path, status)) if media_type == "application/json" else None
                    if named:
                        body["schema"] = {"$ref": f"#/components/schemas/{named}"}
                    elif media_type == "application/problem+json":
                        body["schema"] = PROBLEM_REF
                    else:
                        body["schema"] = SCHEMA_BY_MEDIA_TYPE.get(media_type, TEXT)
    return schema
