"""The DeriveCert web API (FastAPI): certification, filing, catalog search, SPARQL, federation."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
