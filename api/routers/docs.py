"""Documents for authors and registries: the JSON-LD context of the public vocabulary
(`/context.jsonld`, the package's `derivecert/data/context.jsonld`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from derivecert.jsonld_context import shipped

router = APIRouter(tags=["vocabulary"])


@router.get("/context.jsonld", summary="The JSON-LD context of the public vocabulary",
            responses={200: {"content": {"application/ld+json": {}}}})
async def context():
    """Inline it in a description (`"@context": {...}`): the node never fetches remote contexts."""
    return Response(shipped(), media_type="application/ld+json", headers={"Cache-Control": "public, max-age=3600"})
