"""The backends by `store.kind`: a backend registers its opener here, so adding one edits no
chain of ifs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...errors import ConfigurationError

if TYPE_CHECKING:
    from .base import CatalogStore

#: an opener makes a backend from the node's settings (`derivecert.settings.Settings`)
Opener = Callable[[Any], "CatalogStore"]
BACKENDS: dict[str, Opener] = {}


def register(kind: str) -> Callable[[Opener], Opener]:
    """Register the opener of the backend that `store.kind = "<kind>"` names."""
    def add(opener: Opener) -> Opener:
        BACKENDS[kind] = opener
        return opener

    return add


def open_store(settings: Any) -> CatalogStore:
    """The backend the settings name (`settings.store.kind`)."""
    opener = BACKENDS.get(settings.store.kind)
    if opener is None:
        raise ConfigurationError(f"no catalog backend {settings.store.kind!r}",
                                 hint=f"store.kind is one of {', '.join(sorted(BACKENDS))}")
    return opener(settings)
