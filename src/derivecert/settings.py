"""Settings of a DeriveCert node: one `Settings` object (pydantic-settings).

Serves the operational side of the standard's filing part (备案): which institutions may file
descriptions (and with which tokens), which certifying body signs the filings, where the catalog
is stored, which peer nodes are trusted for federation, and the limits the public endpoints keep.

Sources, highest priority first:

1. keyword arguments (`Settings(store={"kind": "memory"})`, used by tests and the CLI);
2. environment variables with the prefix ``DERIVECERT_`` and ``__`` between nested names
   (``DERIVECERT_STORE__KIND=remote``, ``DERIVECERT_LIMITS__SPARQL_TIMEOUT_S=5``,
   ``DERIVECERT_ACCESS__READS_OPEN=false``; lists and tables as JSON);
3. a TOML or JSON configuration file named by ``config_file`` / ``DERIVECERT_CONFIG_FILE``;
4. the defaults below.

Tokens are never stored in clear: a configuration holds their SHA-256 digests (hex), which
``python -m derivecert.settings hash-token TOKEN`` prints.  Example file::

    node_name = "Example regional node"
    shacl = "rudof"              # rudof (default) | pyshacl: the reference validator, same findings
    [store]
    kind = "embedded"            # embedded | memory | remote
    path = "var/store"
    [access]
    reads_open = true
    certifier_token_sha256 = ["<sha256 hex of the certifying body's token>"]   # suspends, revokes filings
    [signing]
    key_file = "var/filing-key.pem"   # Ed25519, made (0600) by the first `serve`; default: beside
                                      # the store. Passphrase: DERIVECERT_SIGNING__PASSPHRASE
    [limits]
    max_body_bytes = 2000000
    sparql_timeout_s = 10
    sparql_result_limit = 10000
    [[institutions]]
    id = "hospital-a"
    name = { zh = "甲医院", en = "Hospital A" }
    token_sha256 = ["<sha256 hex of the token>"]
    [[peers]]
    name = "east"
    url = "https://east.example.org"       # another DeriveCert node
    kind = "derivecert"

Over 400 lines because every setting is declared here once, with its bound and its doc.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .parse import InputLimits

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Table(BaseModel):
    """A table of the settings file: a key it does not know is an error naming it, not silently
    dropped (a `service_allow` under `[store]` would otherwise do nothing)."""

    model_config = ConfigDict(extra="forbid")


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a bearer token, the only form a configuration stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _normalise_digests(values: list[str]) -> list[str]:
    out = []
    for value in values:
        digest = value.strip().lower().removeprefix("sha256:")
        if not SHA256_HEX.match(digest):
            raise ValueError(
                "token_sha256 entries must be SHA-256 hex digests (64 hex digits); "
                "run `python -m derivecert.settings hash-token TOKEN` to make one"
            )
        out.append(digest)
    return out


class InstitutionConfig(Table):
    """An institution that files descriptions: its slug, names and write tokens (hashed)."""

    id: str
    name: dict[str, str] = Field(default_factory=dict)
    homepage: str | None = None
    token_sha256: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("institution id must be a lower-case slug: a-z, 0-9 and '-'")
        return value

    @field_validator("name", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return {"en": value, "zh": value} if isinstance(value, str) else value

    @field_validator("token_sha256")
    @classmethod
    def _digests(cls, value: list[str]) -> list[str]:
        return _normalise_digests(value)


class PeerConfig(Table):
    """Another node the federation reaches: a DeriveCert node or a plain SPARQL endpoint.

    ``kind = "derivecert"``: ``url`` is the node's base URL; search calls ``{url}/v1/datasets``
    and its SPARQL endpoint (``sparql``, default ``{url}/sparql``) is allow-listed for SERVICE.
    ``kind = "sparql"``: ``url`` is a SPARQL 1.1 endpoint holding a DeriveCert catalog
    (catalog records as written by `derivecert.catalog`); search runs SPARQL against it.
    """

    name: str
    url: str
    kind: Literal["derivecert", "sparql"] = "derivecert"
    sparql: str | None = None
    timeout_s: float | None = None
    #: bearer token sent to a DeriveCert peer whose reads are closed (outbound credential)
    token: SecretStr | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("peer name must be a lower-case slug: a-z, 0-9 and '-'")
        return value

    @field_validator("url", "sparql")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("peer URLs must be absolute http(s) URLs")
        return value.rstrip("/") if value else value

    @property
    def sparql_endpoint(self) -> str:
        if self.sparql:
            return self.sparql
        return self.url if self.kind == "sparql" else f"{self.url}/sparql"


class StoreSettings(Table):
    """Where the catalog lives: embedded Oxigraph on disk, in memory, or a remote SPARQL server."""

    kind: Literal["embedded", "memory", "remote"] = "embedded"
    path: Path = Path("var/store")
    query_url: str | None = None
    update_url: str | None = None
    gsp_url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = 30.0
    #: the remote server's kind, where servers differ (backends/remote.py `Dialect`):
    #: "standard" (any SPARQL 1.1 server, e.g. `oxigraph serve`) or "virtuoso" (Digest auth on
    #: /sparql-auth, SPARQL XML results)
    dialect: Literal["standard", "virtuoso"] = "standard"
    #: Virtuoso only: its SQL port ("127.0.0.1:1111"), through which the catalog's writes run as
    #: one transaction each (Virtuoso's HTTP endpoint commits operation by operation); signs in
    #: as store.username / store.password.  Needs pyodbc (extra "virtuoso") and libodbc2.
    sql_address: str | None = None
    #: Virtuoso's ODBC driver (Debian package libvirtodbc0)
    odbc_driver: str = "/usr/lib/x86_64-linux-gnu/odbc/virtodbc_r.so"
    #: run users' SPARQL on an embedded store in worker processes that the time limit can stop
    query_processes: bool = True
    #: how often (seconds) a node over a shared remote store checks whether another writer
    #: changed the catalog, to refresh its search index.
    index_check_interval_s: float = 1.0
    #: the time limit (s) of the whole-catalog reads that rebuild a remote store's search index
    #: (at start, and after another node's write): timeout_s bounds one ordinary query, and at
    #: 100,000 datasets on Virtuoso these reads take 20 to 80 s (README "Scale out")
    index_rebuild_timeout_s: float = 600.0
    #: remote stores: a folder of this node's own (not shared with another node) where it keeps
    #: its facet and text indexes, so it starts from them and reads only the writes made since
    #: (the store's change feed) instead of the whole catalog; unset: rebuilt at every start
    index_dir: Path | None = None
    #: remote stores: how many writes the store's change feed keeps (at least: every node's
    #: writes prune it, so give all nodes of one store the same); a node further behind (down
    #: longer, or its index_dir older) reads the whole catalog again
    feed_keep: int = Field(default=10000, ge=100, le=10_000_000)

    @model_validator(mode="after")
    def _remote_urls(self) -> "StoreSettings":
        if self.index_dir is not None and self.kind != "remote":
            raise ValueError("store.index_dir 仅用于远程存储 (store.kind = 'remote')；嵌入式存储的索引保存在存储旁 / "
                             "store.index_dir is for store.kind = 'remote' (an embedded store keeps its index beside it)")
        if self.kind == "remote" and not (self.query_url and self.update_url):
            raise ValueError("store.kind = 'remote' needs store.query_url and store.update_url")
        if self.sql_address and self.dialect != "virtuoso":
            raise ValueError("store.sql_address is for store.dialect = 'virtuoso'")
        return self


class AccessSettings(Table):
    """Reads are open by default; `reads_open = false` asks for a token on catalog reads.
    The certifying body's tokens (`certifier_token_sha256`) may suspend, reinstate and revoke filings."""

    reads_open: bool = True
    reader_token_sha256: list[str] = Field(default_factory=list)
    certifier_token_sha256: list[str] = Field(default_factory=list)

    @field_validator("reader_token_sha256", "certifier_token_sha256")
    @classmethod
    def _digests(cls, value: list[str]) -> list[str]:
        return _normalise_digests(value)

    #: CORS: the web origins (``https://portal.example.org``) whose pages may call this API from
    #: a browser; empty (the default) sends no CORS headers, so browsers keep other sites out.
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"cors_origins entries are origins like https://portal.example.org, not {origin!r}")
        return value


class SigningSettings(Table):
    """The certifying body's Ed25519 filing key: a PEM file (relative paths from the settings
    file's folder; by default `filing-key.pem` beside the embedded store's folder, else in `var/`),
    made with mode 0600 by the first `serve` when absent, optionally encrypted."""

    key_file: Path | None = None
    passphrase: SecretStr | None = None

    def passphrase_bytes(self) -> bytes | None:
        return self.passphrase.get_secret_value().encode("utf-8") if self.passphrase else None


class LimitSettings(Table):
    """Limits on untrusted work; README "Limits on untrusted work" explains each.  Every
    refusal names the setting that made it (`limits.<name>`, `DERIVECERT_LIMITS__<NAME>`)."""

    max_body_bytes: int = 2_000_000
    #: longest reason (characters) the certifying body may give for a status change
    status_reason_max_chars: int = 2000
    sparql_timeout_s: float = 10.0
    sparql_result_limit: int = 10_000
    sparql_concurrency: int = 4
    search_page_max: int = 100
    federation_timeout_s: float = 5.0
    # one description (a request, or one file of a CLI batch)
    max_triples: int = Field(InputLimits.max_triples, ge=1)
    max_datasets: int = Field(InputLimits.max_datasets, ge=1)
    max_blank_nodes: int = Field(InputLimits.max_blank_nodes, ge=0)
    max_jsonld_depth: int = Field(InputLimits.max_jsonld_depth, ge=1)
    # certification (parse, reasoning, SHACL, digest) in bounded worker processes
    certify_memory_mb: int = Field(1536, ge=64)
    certify_timeout_s: float = Field(60.0, gt=0)
    certify_concurrency: int = Field(2, ge=1)
    # a batch (POST /v1/institutions/{institution}/batches): certified as one call of the above
    batch_max_documents: int = Field(100, ge=1)
    batch_max_body_bytes: int = Field(20_000_000, ge=1)
    canonicalise_timeout_s: float = Field(5.0, gt=0)
    # SPARQL: the query's analysis before it runs, and the worker processes that run it
    max_query_bytes: int = Field(100_000, ge=1)
    sparql_parse_timeout_s: float = Field(5.0, gt=0)
    sparql_memory_mb: int = Field(1024, ge=64)
    query_cache_bytes: int = Field(1_000_000, ge=0)

    def input_limits(self) -> InputLimits:
        return InputLimits.from_settings(self)

    def certify_bounds(self, *, batch: bool = False):
        """Bounds of a certification worker.  `batch=True` for the CLI: a batch may legitimately
        run long (no wall-clock limit; the memory limit and the digest's budget still hold) and
        start processes of its own (a batch on several cores)."""
        from .sandbox import Bounds

        return Bounds(memory_mb=self.certify_memory_mb, timeout_s=None if batch else self.certify_timeout_s,
                      phases={"canonicalise": self.canonicalise_timeout_s}, daemon=not batch)

    def query_analysis_bounds(self):
        from .sandbox import Bounds

        return Bounds(memory_mb=self.sparql_memory_mb, timeout_s=self.sparql_parse_timeout_s,
                      memory_setting="limits.sparql_memory_mb", timeout_setting="limits.sparql_parse_timeout_s")


class FileSettingsSource(PydanticBaseSettingsSource):
    """Reads the TOML / JSON configuration file named by ``config_file``."""

    def __init__(self, settings_cls: type[BaseSettings], path: str | Path | None):
        super().__init__(settings_cls)
        self.path = Path(path) if path else None

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        if not self.path.is_file():
            raise ValueError(f"configuration file not found: {self.path}")
        text = self.path.read_bytes()
        if self.path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"configuration file {self.path} must hold a table / object")
        base = self.path.parent
        for table, key in (("store", "path"), ("signing", "key_file")):
            section = data.get(table)
            if isinstance(section, dict) and key in section and not Path(section[key]).is_absolute():
                section[key] = str(base / section[key])
        return data


class Settings(BaseSettings):
    """All settings of a node (see the module docstring for sources and an example)."""

    model_config = SettingsConfigDict(
        env_prefix="DERIVECERT_", env_nested_delimiter="__", extra="forbid"
    )

    config_file: Path | None = None
    node_name: str = "DeriveCert"
    public_url: str | None = None
    certifying_body: str = "DeriveCert"
    filing_prefix: str = "DC"
    reasoner: str = "rl"
    #: the SHACL validator: "rudof" (Rust, the default) or "pyshacl" (the reference engine); same findings
    shacl: Literal["rudof", "pyshacl"] = "rudof"
    thresholds: dict[str, float] | None = None
    store: StoreSettings = Field(default_factory=StoreSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    institutions: list[InstitutionConfig] = Field(default_factory=list)
    peers: list[PeerConfig] = Field(default_factory=list)
    #: extra SPARQL endpoints a SERVICE clause may call besides the peers' endpoints
    service_allow: list[str] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls,
        init_settings,
        env_settings,
        dotenv_settings,
        file_secret_settings,
    ):
        path = init_settings.init_kwargs.get("config_file") or os.environ.get(
            "DERIVECERT_CONFIG_FILE"
        )
        return (init_settings, env_settings, FileSettingsSource(settings_cls, path))

    @model_validator(mode="after")
    def _unique_names(self) -> "Settings":
        for label, names in (
            ("institution id", [i.id for i in self.institutions]),
            ("peer name", [p.name for p in self.peers]),
        ):
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"duplicate {label}: {', '.join(sorted(dupes))}")
        return self

    # -- derived views -------------------------------------------------------------------

    def institution(self, ident: str) -> InstitutionConfig | None:
        return next((i for i in self.institutions if i.id == ident), None)

    def peer(self, name: str) -> PeerConfig | None:
        return next((p for p in self.peers if p.name == name), None)

    def filing_key_file(self) -> Path:
        """Where the filing key is: `signing.key_file`, or beside the embedded store."""
        if self.signing.key_file is not None:
            return self.signing.key_file
        folder = self.store.path.parent if self.store.kind == "embedded" else Path("var")
        return folder / "filing-key.pem"

    def service_allow_list(self) -> set[str]:
        """SPARQL endpoints that `SERVICE` may reach: the peers' endpoints and `service_allow`."""
        return {p.sparql_endpoint for p in self.peers} | set(self.service_allow)

    def authenticate(self, token: str | None) -> "Principal | None":
        """Who holds this bearer token, compared by SHA-256 digest in constant time."""
        if not token:
            return None
        digest = hash_token(token)
        for inst in self.institutions:
            if any(hmac.compare_digest(digest, d) for d in inst.token_sha256):
                return Principal(institution=inst.id)
        if any(hmac.compare_digest(digest, d) for d in self.access.certifier_token_sha256):
            return Principal(institution=None, certifier=True)
        if any(hmac.compare_digest(digest, d) for d in self.access.reader_token_sha256):
            return Principal(institution=None)
        return None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an institution (may write its own catalog), the certifying body
    (may change filings' status) or a reader."""

    institution: str | None
    certifier: bool = False


def main(argv: list[str] | None = None) -> int:
    """``python -m derivecert.settings hash-token TOKEN`` | ``show [CONFIG]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "hash-token":
        print(hash_token(args[1]))
        return 0
    if args and args[0] == "show":
        settings = Settings(config_file=Path(args[1])) if len(args) > 1 else Settings()
        print(settings.model_dump_json(indent=2))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
