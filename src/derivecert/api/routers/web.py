"""The web interface for metadata authors (check a description) and catalog users (browse, read a
dataset, query), plus the self-hosted OpenAPI UI (`/docs`, `/redoc`).

Every page is rendered from the node's own JSON API (`call_api`, in-process): the check page
from `POST /v1/certify` and `/v1/classify`, the catalog from `GET /v1/datasets`, a dataset from
`GET /v1/datasets/{id}`, the SPARQL page from `/sparql`.  Form input only ever becomes the body
or the query parameters of those calls, where the API's own checks and limits apply.

Over 400 lines because each page turns the API's JSON into its view here; the pages share
those view helpers (result, facets, explanations).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from derivecert.explain import WORDS as EXPLANATION_WORDS
from derivecert.resources import ontology_graph
from derivecert.vocab import DCERT
from derivecert.wording import FAMILY, class_label, family, named_sources, prefixed, severity
from derivecert.wording import code_label as word

from ..deps import Services, ServicesDep, read_body
from ..labels import DEPTH_CLASSES, code_label, depth_label, dimension_labels, verdict_label
from ..problems import Problem
from ..web import HERE, LANG_COOKIE, call_api, render, request_lang
from ..web.i18n import LANGS, PROBLEM_TITLES, TEXT, pick
from ..web.provenance import provenance_graph
from ..web.sparql_examples import examples as sparql_examples

router = APIRouter(include_in_schema=False)

# -- assets and the OpenAPI UI ----------------------------------------------------------------

#: asset name -> file: the interface's own, and Swagger UI / ReDoc as shipped by fastapi-offline
ASSETS = {p.name: p for folder in (Path(fastapi_offline.__file__).parent / "static", HERE / "static")
          for p in folder.iterdir() if p.is_file()}


#: ReDoc's bundle shows its logo from its CDN: served pointing at the packaged icon instead
REWRITES = {"redoc.standalone.js": (b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"/ui/static/favicon.png")}
CACHE = {"Cache-Control": "public, max-age=3600"}


@lru_cache(maxsize=len(REWRITES))
def _rewritten(name: str) -> bytes:
    old, new = REWRITES[name]
    return ASSETS[name].read_bytes().replace(old, new)


@router.get("/ui/static/{name}")
async def asset(name: str) -> Response:
    path = ASSETS.get(name)
    if path is None:
        raise Problem(404, "not-found", f"no asset {name!r}")
    if name in REWRITES:
        return Response(_rewritten(name), media_type="text/javascript", headers=CACHE)
    return FileResponse(path, headers=CACHE)


#: the OpenAPI UI pages load nothing from elsewhere: their inline start-up script, the packaged
#: bundles, and images from here or data: URIs
OPENAPI_UI_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                     "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


def _offline(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = OPENAPI_UI_POLICY
    return response


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return _offline(get_swagger_ui_html(openapi_url=request.app.openapi_url, title="DeriveCert API",
                               swagger_js_url="/ui/static/swagger-ui-bundle.js",
                               swagger_css_url="/ui/static/swagger-ui.css",
                               swagger_favicon_url="/ui/static/favicon.png"))


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return _offline(get_redoc_html(openapi_url=request.app.openapi_url, title="DeriveCert API",
                                   redoc_js_url="/ui/static/redoc.standalone.js",
                                   redoc_favicon_url="/ui/static/favicon.png", with_google_fonts=False))


@router.get("/ui/lang/{lang}")
async def switch_language(lang: str, next: str = "/ui/check") -> Response:
    """Remember the language (a cookie) and go back to the page (a local path only)."""
    if lang not in LANGS:
        raise Problem(404, "not-found", f"no language {lang!r}", hint="zh or en")
    target = next if next.startswith("/") and not next.startswith("//") else "/ui/check"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


# -- check a description ------------------------------------------------------------------------

FORMATS = {  # form value -> media type of the API's request body
    "turtle": "text/turtle", "jsonld": "application/ld+json", "rdfxml": "application/rdf+xml",
    "ntriples": "application/n-triples", "trig": "application/trig",
}
FORMAT_NAMES = {"turtle": "Turtle", "jsonld": "JSON-LD", "rdfxml": "RDF/XML", "ntriples": "N-Triples", "trig": "TriG"}
EXAMPLES_DIR = Path(__file__).resolve().parents[4] / "examples"  # the checkout root (src/derivecert/api/routers)
#: past this many datasets the check page leaves out the step-by-step explanations
EXPLAIN_MAX_DATASETS = 20
ERROR_POSITION = re.compile(r"^[^\n]*?:(\d+):(\d+):")


def example_files() -> list[tuple[str, bool]]:
    """The demo catalog's descriptions (`institution/name.ttl`, rejected or not), when this
    checkout has them (an installed wheel does not)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return [(f"{p.parent.name}/{p.name}", p.stem.endswith("-rejected")) for p in sorted(EXAMPLES_DIR.glob("*/*.ttl"))]


async def _check_form(request: Request, svc: Services) -> tuple[str, str]:
    """The form's description and format.  Form encoding takes up to three bytes per byte of the
    description, so the form may be three times the node's body limit; the API call then holds
    the description itself to that limit (and names it)."""
    limit = svc.settings.limits.max_body_bytes
    try:
        body = await read_body(request, 3 * limit + 4096)
    except Problem as exc:
        raise Problem(413, "input-too-large", f"the description exceeds {limit} bytes",
                      hint="split the description into several files", limit=limit) from exc
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    fmt = fields.get("format", "turtle")
    return fields.get("description", ""), fmt if fmt in FORMATS else "turtle"


@router.get("/ui/check")
async def check_page(request: Request, example: str = "") -> Response:
    names = dict(example_files())
    text = (EXAMPLES_DIR / example).read_text(encoding="utf-8") if example in names else ""
    return render(request, "check.html", description=text, format="turtle", examples=example_files(),
                  chosen=example, formats=FORMAT_NAMES)


def _problem_page(request: Request, exc: Problem) -> Response:
    lang = request_lang(request)
    error = {"status": exc.status, "detail": exc.detail, "hint": exc.hint or "", "code": exc.code,
             "title": PROBLEM_TITLES[lang].get(exc.code, "")}
    return render(request, "check.html", status=exc.status, description="", format="turtle",
                  examples=example_files(), chosen="", formats=FORMAT_NAMES, error=error)


@router.post("/ui/check")
async def check(request: Request, svc: ServicesDep) -> Response:
    lang = request_lang(request)
    try:
        text, fmt = await _check_form(request, svc)
    except Problem as exc:
        return _problem_page(request, exc)
    context: dict[str, Any] = dict(description=text, format=fmt, examples=example_files(), chosen="", formats=FORMAT_NAMES)
    answer = await call_api(request, "POST", "/v1/certify", content=text.encode("utf-8"),
                            headers={"Content-Type": FORMATS[fmt], "Accept": "application/json"})
    if answer.status_code != 200:
        return render(request, "check.html", status=answer.status_code,
                      error=error_view(answer, text, lang), **context)
    results = answer.json()["results"]
    data = text.encode("utf-8")
    graph, _ = await svc.run_engine(svc.require_engine().load, data, media_type=FORMATS[fmt])
    sources = named_sources(graph)
    source_only = [r["dataset"] for r in results
                   if r["dataset"] in sources and r["verdict"] == "not-derived"  # no source of its own: P-01
                   and r.get("findings") and all(f.get("requirement") == "P-01" for f in r["findings"])]
    results = [r for r in results if r["dataset"] not in source_only]
    explanations = {}
    if len(results) <= EXPLAIN_MAX_DATASETS:
        items = await svc.run_engine(svc.require_engine().classify, data, media_type=FORMATS[fmt], explain_lang=lang)
        explanations = {i["dataset"]: i.get("explanation", []) for i in items}
    views = [result_view(r, lang, explanations.get(r["dataset"])) for r in results]
    return render(request, "check.html", results=views, source_only=source_only, explain_max=EXPLAIN_MAX_DATASETS,
                  explained=bool(explanations), **context)


@router.post("/ui/check/template")
async def check_template(request: Request, svc: ServicesDep) -> Response:
    """The registry hook: the record in the editor becomes a template (`POST /v1/template`), the
    record's facts with a TODO comment per property a requirement still needs."""
    lang = request_lang(request)
    try:
        text, fmt = await _check_form(request, svc)
    except Problem as exc:
        return _problem_page(request, exc)
    answer = await call_api(request, "POST", f"/v1/template?lang={lang}", content=text.encode("utf-8"),
                            headers={"Content-Type": FORMATS[fmt], "Accept": "text/turtle"})
    if answer.status_code != 200:
        return render(request, "check.html", status=answer.status_code, description=text, format=fmt,
                      examples=example_files(), chosen="", formats=FORMAT_NAMES, error=error_view(answer, text, lang))
    return render(request, "check.html", description=answer.text, format="turtle", examples=example_files(),
                  chosen="", formats=FORMAT_NAMES)


#: datasets certified per second on one core (bench/run.py: about 100), for the progress estimate
CHECK_DATASETS_PER_SECOND = 100


@router.post("/ui/check/scan")
async def check_scan(request: Request, svc: ServicesDep) -> Response:
    """Before a large check: how many datasets and triples the description holds (parsing only,
    about 1% of a check), and an estimate of how long the check takes, for the progress bar."""
    from derivecert.classify import datasets

    text, fmt = await _check_form(request, svc)
    graph, _ = await svc.run_engine(svc.require_engine().load, text.encode("utf-8"), media_type=FORMATS[fmt])
    n = len(datasets(graph))
    return JSONResponse({"datasets": n, "triples": len(graph), "estimate_s": round(1 + n / CHECK_DATASETS_PER_SECOND, 1)})


@router.post("/ui/check/download/{kind}")
async def check_download(kind: str, request: Request, svc: ServicesDep) -> Response:
    """The check's results as files: JSON, Turtle (results and filings), the SHACL report, the
    filing records alone."""
    routes = {"json": ("/v1/certify", "application/json", "results.json"),
              "turtle": ("/v1/certify", "text/turtle", "results.ttl"),
              "report": ("/v1/validate", "text/turtle", "shacl-report.ttl"),
              "filing": ("/v1/certify", "text/turtle", "filing-records.ttl")}
    if kind not in routes:
        raise Problem(404, "not-found", f"no download {kind!r}", hint="json, turtle, report or filing")
    try:
        text, fmt = await _check_form(request, svc)
    except Problem as exc:
        return _problem_page(request, exc)
    path, accept, filename = routes[kind]
    answer = await call_api(request, "POST", path, content=text.encode("utf-8"),
                            headers={"Content-Type": FORMATS[fmt], "Accept": accept})
    if answer.status_code != 200:
        return render(request, "check.html", status=answer.status_code, description=text, format=fmt,
                      examples=example_files(), chosen="", formats=FORMAT_NAMES,
                      error=error_view(answer, text, request_lang(request)))
    content = answer.content
    if kind == "filing":
        content = filing_records(answer.text).encode("utf-8")
    return Response(content, media_type=accept,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def filing_records(result_turtle: str) -> str:
    """The filing records of a result graph: each `dcert:FilingRecord` and its `#` parts."""
    from derivecert.vocab import DCERT, bind_prefixes

    graph = Graph().parse(data=result_turtle, format="turtle")
    records = {str(s) for s in graph.subjects(RDF.type, DCERT.FilingRecord)}
    out = Graph()
    bind_prefixes(out)
    for s, p, o in graph:
        if str(s).split("#", 1)[0] in records:
            out.add((s, p, o))
    return out.serialize(format="turtle")


def error_view(answer, text: str, lang: str) -> dict:
    """A problem+json answer as the page shows it: what, how to fix, and where (the offending
    line of the editor's text with its neighbours, when the parser names a line and column)."""
    try:
        problem = answer.json()
    except ValueError:
        problem = {"detail": answer.text[:500]}
    view = {"status": answer.status_code, "detail": problem.get("detail", ""), "hint": problem.get("hint", ""),
            "code": problem.get("code", ""), "title": PROBLEM_TITLES[lang].get(problem.get("code", ""), "")}
    m = ERROR_POSITION.match(view["detail"])
    if m:
        line, column = int(m.group(1)), int(m.group(2))
        lines = text.splitlines()
        view.update(line=line, column=column, where=TEXT[lang]["error_at"].format(line=line, column=column),
                    snippet=[(n, lines[n - 1]) for n in range(max(1, line - 2), min(len(lines), line + 2) + 1)])
    return view


CHIPS = [("scenario", "scenario"), ("technique", "technique"), ("granularity", "granularity"),
         ("modality", "modality"), ("category", "category"), ("special", "special"),
         ("deidentification_grade", "grade"), ("sensitivity_level", "level")]
KNOWN_RESULT_FIELDS = {"dataset", "is_derived", "derivation_depth", "types", "classification", "verdict",
                       "findings", "filing", "source", "id", "institution", "title", "issued", "modified",
                       "links", "origin"}


def result_view(result: dict, lang: str, explanation: list | None = None) -> dict:
    """A §6 result as the page shows it: labels in `lang` (codes only as tooltips), findings
    grouped by requirement family, the verdict's reason; fields this page does not know (added
    to §6 later, e.g. notices) are listed as they come."""
    c = result.get("classification") or {}
    chips = []
    for key, dim in CHIPS:
        value = c.get(key)
        codes = value if isinstance(value, list) else [value] if value else []
        if codes:
            chips.append({"dim": dim, "label": pick(dimension_labels()[dim], lang),
                          "values": [{"code": code, "label": pick(code_label(code), lang)} for code in codes]})
    findings = result.get("findings") or []
    groups = []
    for letter in [*FAMILY, *sorted({family(f.get("requirement", "")) for f in findings} - set(FAMILY))]:
        members = [finding_view(f, lang) for f in findings if family(f.get("requirement", "")) == letter]
        if members:
            groups.append({"family": letter, "label": pick(FAMILY.get(letter, letter), lang), "findings": members})
    verdict = result.get("verdict", "")
    return {
        "dataset": result.get("dataset", ""), "verdict": verdict,
        "verdict_label": pick(verdict_label(verdict), lang),
        "why": verdict_reason(result, lang), "is_derived": result.get("is_derived"),
        "depth": pick(depth_label(result["derivation_depth"]), lang) if result.get("derivation_depth") in DEPTH_CLASSES else "",
        "types": [{"name": name, "label": class_label(name, lang)} for name in result.get("types") or []],
        "chips": chips,
        "candidates": [word(code, lang) for code in c.get("level_candidates") or []],
        "personal": c.get("personal_information"),
        "groups": groups, "filing": result.get("filing"), "source": result.get("source"),
        "explanation": explanation or [], "words": EXPLANATION_WORDS.get(lang, {}),
        "extras": {k: json.dumps(v, ensure_ascii=False, indent=1) for k, v in result.items() if k not in KNOWN_RESULT_FIELDS},
    }


def finding_view(f: dict, lang: str) -> dict:
    from derivecert.wording import shape_description

    return {"requirement": f.get("requirement", ""), "severity": f.get("severity", ""),
            "severity_label": severity(f.get("severity", ""), lang), "message": pick(f.get("message"), lang),
            "focus": prefixed(f.get("focus")), "path": prefixed(f.get("path")), "value": prefixed(f.get("value")),
            "fix": shape_description(f.get("shape"), lang)}


def verdict_reason(result: dict, lang: str) -> str:
    """§5 in words: which findings made the verdict."""
    t, findings = TEXT[lang], result.get("findings") or []

    def reqs(sev):
        return ", ".join(dict.fromkeys(f["requirement"] for f in findings if f.get("severity") == sev))

    verdict = result.get("verdict")
    if verdict == "not-derived":
        return t["verdict_not_derived_nosource"] if findings else t["verdict_not_derived_copy"]
    if verdict == "rejected":
        return t["verdict_rejected"].format(reqs=reqs("Violation"))
    if verdict == "conditional":
        return t["verdict_conditional"].format(reqs=", ".join(dict.fromkeys(f["requirement"] for f in findings)))
    return t["verdict_certified"] if verdict == "certified" else ""


# -- the catalog --------------------------------------------------------------------------------

FACETS = ("scenario", "technique", "level", "grade", "granularity", "category", "modality", "special",
          "depth", "verdict", "institution")
PAGE = 20


@router.get("/ui/datasets")
async def catalog(request: Request, svc: ServicesDep) -> Response:
    lang = request_lang(request)
    selected = [(k, v) for k, v in request.query_params.multi_items() if k in FACETS and v]
    text = request.query_params.get("q", "")
    federated = request.query_params.get("federated") == "true"
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    params = [*selected, ("q", text), ("offset", str(offset)), ("limit", str(PAGE))]
    if federated:
        params.append(("federated", "true"))
    answer = await call_api(request, "GET", "/v1/datasets", params=params, headers={"Accept": "application/json"})
    if answer.status_code != 200:
        return render(request, "catalog.html", status=answer.status_code, error=error_view(answer, "", lang),
                      facets=[], items=[], text=text, federated=federated, peers=svc.settings.peers)
    body = answer.json()
    base = [("q", text)] if text else []
    if federated:
        base.append(("federated", "true"))

    def link(pairs):
        return "/ui/datasets?" + urlencode(pairs)

    facets = []
    for dim, facet in body.get("facets", {}).items():
        values = []
        for v in facet.get("values", []):
            pair = (dim, v["code"])
            toggled = [p for p in selected if p != pair] if v.get("selected") else [*selected, pair]
            values.append({**v, "text": pick(v.get("label"), lang), "href": link(base + toggled)})
        if values:
            facets.append({"dim": dim, "label": pick(facet.get("label"), lang), "values": values})
    items = [item_view(i, lang) for i in body.get("items", [])]
    total = body.get("total", 0)
    here = base + selected
    pages = {"prev": link(here + [("offset", str(max(0, offset - PAGE)))]) if offset > 0 else None,
             "next": link(here + [("offset", str(offset + PAGE))]) if offset + PAGE < total else None}
    return render(request, "catalog.html", facets=facets, items=items, total=total, text=text, federated=federated,
                  selected=selected, clear=link(base), pages=pages, peers=svc.settings.peers,
                  peer_errors=body.get("peers_failed") or body.get("errors"))


def item_view(item: dict, lang: str) -> dict:
    c = item.get("classification") or {}
    codes = [*c.get("scenario", []), *c.get("technique", []), c.get("deidentification_grade"), c.get("sensitivity_level")]
    local = item.get("origin", "local") == "local"
    href = f"/ui/datasets/{item['id']}" if local and item.get("id") else (item.get("links") or {}).get("self", "")
    return {"title": pick(item.get("title"), lang) or item.get("dataset", ""), "dataset": item.get("dataset", ""),
            "href": href, "origin": item.get("origin", "local"),
            # a dataset several origins have: the others are listed beside the first
            "also": [o.get("origin", "") for o in (item.get("origins") or [])[1:]],
            "institution": pick(item.get("institution_name"), lang) or item.get("institution", ""),
            "verdict": item.get("verdict", ""), "verdict_label": pick(verdict_label(item.get("verdict", "")), lang),
            "chips": [{"code": code, "label": pick(code_label(code), lang)} for code in codes if code],
            "filing": item.get("filing")}


@router.get("/ui/datasets/{ident}")
async def dataset_page(ident: str, request: Request) -> Response:
    lang = request_lang(request)
    path = "/v1/datasets/" + quote(ident, safe="")
    answer = await call_api(request, "GET", path, headers={"Accept": "application/json"})
    if answer.status_code != 200:
        return render(request, "dataset.html", status=answer.status_code, error=error_view(answer, "", lang))
    record = answer.json()
    rdf = await call_api(request, "GET", path, headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=rdf.text, format="turtle") if rdf.status_code == 200 else Graph()
    dataset = URIRef(record["dataset"])
    prov = provenance_graph(graph, dataset, lang)
    for node in prov["nodes"][1:]:  # sources filed in this catalog get a link
        found = await call_api(request, "GET", "/v1/datasets/" + quote(node["iri"], safe=""),
                               headers={"Accept": "application/json"})
        if found.status_code == 200:
            node["href"] = f"/ui/datasets/{found.json()['id']}"
    filing = record.get("filing") or {}
    status = filing.get("status", "")  # the API's status of today (valid, expired, superseded, ...)

    def literal(prop):
        values = {o.language or "": str(o) for o in graph.objects(dataset, prop)}
        return values.get(lang) or values.get("") or next(iter(values.values()), "")

    return render(request, "dataset.html", record=record, result=result_view(record, lang), prov=prov,
                  title=pick(record.get("title"), lang) or record["dataset"], description_text=literal(DCTERMS.description),
                  identifier=literal(DCTERMS.identifier), filing=filing, filing_status=status,
                  status_label=filing_status_label(status, lang), rdf_path=path)


@router.get("/ui/datasets/{ident}/turtle")
async def dataset_turtle(ident: str, request: Request) -> Response:
    """The dataset's description, result and filing as a Turtle file (a browser cannot set Accept)."""
    answer = await call_api(request, "GET", "/v1/datasets/" + quote(ident, safe=""), headers={"Accept": "text/turtle"})
    if answer.status_code != 200:
        return render(request, "dataset.html", status=answer.status_code, error=error_view(answer, "", request_lang(request)))
    return Response(answer.content, media_type="text/turtle",
                    headers={"Content-Disposition": f'attachment; filename="{ident}.ttl"'})


# -- SPARQL -------------------------------------------------------------------------------------

SELECT_DOWNLOADS = [("srj", "JSON"), ("srx", "XML"), ("csv", "CSV"), ("tsv", "TSV")]
GRAPH_DOWNLOADS = [("ttl", "Turtle"), ("nt", "N-Triples"), ("jsonld", "JSON-LD"), ("rdf", "RDF/XML")]


@router.api_route("/ui/sparql", methods=["GET", "POST"])
async def sparql_page(request: Request, svc: ServicesDep) -> Response:
    lang = request_lang(request)
    examples = sparql_examples(svc.settings)
    query = request.query_params.get("query")
    if request.method == "POST":
        body = await read_body(request, svc.settings.limits.max_body_bytes)
        query = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)).get("query", "")
    chosen = request.query_params.get("example")
    if query is None:
        query = next((e["query"] for e in examples if e["id"] == chosen), examples[0]["query"])
        return render(request, "sparql.html", query=query, examples=examples)
    answer = await call_api(request, "POST", "/sparql", content=query.encode("utf-8"), headers={
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json, text/turtle;q=0.9"})
    if answer.status_code != 200:
        return render(request, "sparql.html", status=answer.status_code, query=query, examples=examples,
                      error=error_view(answer, query, lang))
    truncated = answer.headers.get("derivecert-result-truncated")
    link = "/sparql?" + urlencode({"query": query})
    if answer.headers.get("content-type", "").startswith("text/turtle"):
        graph = Graph().parse(data=answer.text, format="turtle")
        rows = sorted(([prefixed(str(s)), prefixed(str(p)), prefixed(str(o))] for s, p, o in graph))
        table = {"form": "graph", "vars": ["subject", "predicate", "object"], "rows": rows}
        downloads = GRAPH_DOWNLOADS
    else:
        data = answer.json()
        if "boolean" in data:
            table = {"form": "ask", "boolean": data["boolean"]}
        else:
            names = data["head"]["vars"]
            table = {"form": "select", "vars": names,
                     "rows": [[cell(b.get(v)) for v in names] for b in data["results"]["bindings"]]}
        downloads = SELECT_DOWNLOADS
    return render(request, "sparql.html", query=query, examples=examples, table=table, truncated=truncated,
                  downloads=[(label, f"{link}&format={fmt}") for fmt, label in downloads])


def cell(term: dict | None) -> str:
    if not term:
        return ""
    return prefixed(term["value"]) if term.get("type") == "uri" else term["value"]


@lru_cache(maxsize=16)
def filing_status_label(status: str, lang: str) -> str:
    """The ontology's label of a filing status (dcert:FilingStatusScheme, notation = `status`)."""
    onto = ontology_graph()
    for concept in onto.subjects(SKOS.notation, Literal(status)):
        if (concept, SKOS.inScheme, DCERT.FilingStatusScheme) in onto:
            labels = {o.language: str(o) for o in onto.objects(concept, SKOS.prefLabel) if isinstance(o, Literal)}
            return labels.get(lang) or labels.get("en") or status
    return status
