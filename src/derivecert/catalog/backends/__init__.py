"""Catalog backends: the primitives over Oxigraph in this process (`oxigraph`) or over any
SPARQL 1.1 server (`remote`), and the registry that opens the one the settings name."""

from . import oxigraph, remote  # noqa: F401  (each registers its opener)
from .base import CatalogStore, QueryOutcome
from .oxigraph import EmbeddedStore
from .registry import open_store, register
from .remote import RemoteStore

__all__ = ["CatalogStore", "EmbeddedStore", "QueryOutcome", "RemoteStore", "open_store", "register"]
