"""Example queries of the SPARQL page: one per query form, across institutions, and one per
configured peer (a SERVICE clause the endpoint allows)."""

from __future__ import annotations

PREFIXES = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX dcert: <https://w3id.org/derivecert#>
PREFIX idx: <https://w3id.org/derivecert/index#>
"""

EXAMPLES = [
    ("titles", {"zh": "数据集、标题与敏感等级", "en": "Datasets, titles and levels"},
     """SELECT ?dataset ?title ?level WHERE {
  ?result a dcert:CertificationResult ; dct:subject ?dataset ; dcert:sensitivityLevel ?level .
  ?dataset dct:title ?title .
} ORDER BY ?level LIMIT 20"""),
    ("by-institution", {"zh": "各机构各敏感等级的数据集数（跨机构）", "en": "Datasets per institution and level (across institutions)"},
     """SELECT ?institution ?level (COUNT(?record) AS ?datasets) WHERE {
  ?record a dcat:CatalogRecord ; idx:institution ?institution ; foaf:primaryTopic ?dataset .
  ?result a dcert:CertificationResult ; dct:subject ?dataset ; dcert:sensitivityLevel ?level .
} GROUP BY ?institution ?level ORDER BY ?institution ?level"""),
    ("shared-sources", {"zh": "来源数据集及使用它的机构数（跨机构）", "en": "Sources and how many institutions use them (across institutions)"},
     """SELECT ?source (COUNT(DISTINCT ?graph) AS ?institutions) WHERE {
  GRAPH ?graph { ?dataset prov:wasDerivedFrom ?source }
} GROUP BY ?source ORDER BY DESC(?institutions) LIMIT 20"""),
    ("any-l4", {"zh": "是否有第4级及以上的数据集？（ASK）", "en": "Is any dataset at level 4 or above? (ASK)"},
     """ASK { ?result a dcert:CertificationResult ; dcert:sensitivityLevel ?level . FILTER(?level IN (dcert:L4, dcert:L5)) }"""),
    ("filings", {"zh": "备案记录（CONSTRUCT）", "en": "Filing records (CONSTRUCT)"},
     """CONSTRUCT { ?filing a dcert:FilingRecord ; ?p ?o } WHERE {
  ?filing a dcert:FilingRecord ; ?p ?o .
} LIMIT 60"""),
]


def examples(settings) -> list[dict]:
    out = [{"id": key, "title": title, "query": PREFIXES + query} for key, title, query in EXAMPLES]
    for peer in settings.peers:
        endpoint = peer.sparql or (peer.url.rstrip("/") + "/sparql" if peer.kind == "derivecert" else peer.url)
        out.append({"id": f"peer-{peer.name}",
                    "title": {"zh": f"对等节点 {peer.name} 的数据集（SERVICE）", "en": f"Datasets of peer {peer.name} (SERVICE)"},
                    "query": PREFIXES + f"""SELECT ?dataset ?level WHERE {{
  SERVICE <{endpoint}> {{ ?result a dcert:CertificationResult ; dct:subject ?dataset ; dcert:sensitivityLevel ?level }}
}} LIMIT 20"""})
    return out
