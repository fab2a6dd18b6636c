"""A live DeriveCert node for the tests that need a real server process (Schemathesis, SIGKILL):
`python tests/api/live_node.py PORT STORE_DIR [--no-engine]` serves on 127.0.0.1:PORT over an
embedded on-disk store, with three institutions and a few filed datasets, until it is stopped.

Run as a script (its folder is then first on `sys.path`), never imported by the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from derivecert.api.app import create_app, load_engine
from derivecert.settings import Settings, hash_token
from derivecert.catalog import build_submission, open_catalog, open_store
from fakes import fake_run

TOKENS = {"hospital-a": "token-of-hospital-a", "hospital-b": "token-of-hospital-b", "cdc-east": "token-of-cdc"}  # = conftest.TOKENS


def settings_for(store_dir: Path) -> Settings:
    return Settings(
        node_name="Live test node",
        store={"kind": "embedded", "path": str(store_dir)},
        institutions=[{"id": inst, "name": {"zh": inst, "en": inst}, "token_sha256": [hash_token(token)]}
                      for inst, token in TOKENS.items()],
        limits={"sparql_timeout_s": 5, "sparql_concurrency": 2},
    )


def seed(store) -> None:
    if store.count():
        return
    for i, (inst, level) in enumerate([("cdc-east", "L1"), ("hospital-a", "L3"), ("hospital-b", "L2")]):
        g, rg, results = fake_run(f"https://{inst}.example.org/ds/{i}", level=level,
                                  filing=f"DC-20250101-LIVE000{i}")
        store.replace(build_submission(inst, g, rg, results))


def main(argv: list[str]) -> None:
    port, store_dir = int(argv[0]), Path(argv[1])
    settings = settings_for(store_dir)
    store = open_catalog(open_store(settings))
    seed(store)
    engine = False if "--no-engine" in argv else load_engine(settings)
    app = create_app(settings, engine=engine, store=store)
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
