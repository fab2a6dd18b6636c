"""A small HTML landing page: what this node is, its catalogs, and where to go next."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from derivecert import __version__

from ..deps import Services, services
from ..labels import value_label
from .health import _versions

router = APIRouter(include_in_schema=False)

STYLE = """body{font:15px/1.5 system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.6rem;margin-bottom:.2rem}.sub{color:#5b6475;margin-top:0}code,pre{background:#f3f5f9;border-radius:4px}
pre{padding:.7rem;overflow:auto;font-size:13px}table{border-collapse:collapse}td,th{padding:.25rem .8rem;border-bottom:1px solid #e3e7ee;text-align:left}
a{color:#1f5fbf}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.6rem}
.card{border:1px solid #e3e7ee;border-radius:6px;padding:.6rem .8rem}input{font:inherit;padding:.3rem;width:20rem}"""


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, svc: Services = Depends(services)) -> HTMLResponse:
    try:
        counts = await run_in_threadpool(svc.store.institution_counts) if svc.settings.access.reads_open else {}
    except Exception:
        counts = {}
    ontology, shapes = _versions()
    rows = []
    ids = [i.id for i in svc.settings.institutions] + sorted(set(counts) - {i.id for i in svc.settings.institutions})
    for inst in ids:
        label = value_label("institution", inst, svc.settings)
        rows.append(
            f"<tr><td><a href='/v1/datasets?institution={escape(inst)}'>{escape(inst)}</a></td>"
            f"<td>{escape(label['zh'])}</td><td>{escape(label['en'])}</td><td>{counts.get(inst, 0)}</td></tr>"
        )
    table = ("<table><tr><th>id</th><th>机构</th><th>institution</th><th>datasets</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>No institution has filed a dataset yet.</p>")
    links = [
        ("/docs", "API documentation (OpenAPI, try it out)"), ("/redoc", "API reference"),
        ("/v1/datasets", "faceted search (JSON)"), ("/sparql", "SPARQL endpoint (read-only)"),
        ("/v1/vocabularies", "code lists"), ("/ontology", "ontology (Turtle)"), ("/shapes", "SHACL shapes"),
        ("/healthz", "health"),
    ]
    cards = "".join(f"<div class='card'><a href='{href}'>{href}</a><br>{escape(text)}</div>" for href, text in links)
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(svc.settings.node_name)} · DeriveCert</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head><body>
<h1>{escape(svc.settings.node_name)}</h1>
<p class="sub">医疗健康领域衍生数据认定 · Identification and certification of derived data in the medical and health domain</p>
<p>DeriveCert {escape(__version__)} · ontology {escape(ontology)} · shapes {escape(shapes)} · store <code>{escape(svc.store.kind)}</code></p>
<form action="/v1/datasets" method="get"><input name="q" placeholder="search titles, e.g. 流感 or cohort">
<button>Search</button> <a href="/v1/datasets?scenario=AS-PH">public-health datasets</a> ·
<a href="/v1/datasets?level=L3&amp;level=L4">L3–L4</a></form>
<h2>Catalogs 目录</h2>{table}
<h2>Endpoints</h2><div class="grid">{cards}</div>
<h2>Try it</h2>
<pre>curl -s 'http://HOST/v1/datasets?scenario=AS-RES&amp;limit=5'
curl -s -H 'Accept: text/turtle' http://HOST/v1/datasets/&lt;id&gt;
curl -s --data-urlencode 'query=SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }}' http://HOST/sparql
curl -s -X POST -H 'Content-Type: text/turtle' --data-binary @description.ttl http://HOST/v1/certify
curl -s -X PUT -H 'Authorization: Bearer TOKEN' -H 'Content-Type: text/turtle' \\
     --data-binary @description.ttl http://HOST/v1/institutions/&lt;institution&gt;/datasets</pre>
</body></html>"""
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    return HTMLResponse(page.replace("http://HOST", escape(base)))
