"""The web interface: server-side pages (Jinja2) over the node's own JSON API, in zh and en.

Pages are rendered on the server from the answers of the JSON API, called in-process
(`call_api`), so the interface shows exactly what an API client gets and holds no certification
or search logic of its own.  Assets (CSS, a little JavaScript, the OpenAPI UI bundles of the
`fastapi-offline` package) are served from the package: no CDN, no internet.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from derivecert import __version__

from .i18n import LANGS, TEXT, pick

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "derivecert-lang"
#: the pages load only this node's own assets: no inline script, no CDN
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def request_lang(request: Request) -> str:
    """`?lang=` for this page, else the remembered choice (cookie), else the browser's first
    preference between zh and en, else zh (the standard's language)."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGS:
            return candidate
    accept = request.headers.get("accept-language", "").lower()
    positions = {lang: accept.find(lang) for lang in LANGS if lang in accept}
    return min(positions, key=positions.__getitem__) if positions else "zh"


def render(request: Request, template: str, status: int = 200, **context):
    from fastapi.responses import HTMLResponse

    lang = request_lang(request)
    svc = request.app.state.services
    page = env.get_template(template).render(
        lang=lang, t=TEXT[lang], pick=lambda value: pick(value, lang), version=__version__,
        node_name=svc.settings.node_name, path=request.url.path,
        url_query=str(request.url.query), method=request.method, **context,
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return response


async def call_api(request: Request, method: str, path: str, **kwargs) -> httpx.Response:
    """One request to this node's own JSON API, in-process (no socket), with the caller's
    Authorization header if it sent one (reads may be closed)."""
    headers = dict(kwargs.pop("headers", None) or {})
    if "authorization" in request.headers:
        headers["Authorization"] = request.headers["authorization"]
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node.internal") as client:
        return await client.request(method, path, headers=headers, **kwargs)
