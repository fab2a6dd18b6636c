"""A writer process for the durability tests (run as a script, never imported by the tests).

    python tests/api/writer.py remote QUERY_URL UPDATE_URL WRITER N REPLACE_EVERY [INDEX_DIR]
    python tests/api/writer.py embedded STORE_DIR WRITER N REPLACE_EVERY [FOLD_AFTER]

Makes N writes of datasets `https://writer-<WRITER>.example.org/ds/<i>`; with REPLACE_EVERY = k
> 0, every k-th write replaces the dataset written three writes before, so that replacement is
exercised too.  Prints ``ACK <i> <title>`` after each write returns, flushing at once: a line on
stdout is an acknowledged write.  FOLD_AFTER: fold the search index's journal into its snapshot
after that many writes (`derivecert.catalog.indexfile`), so that a kill can land in a fold too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from derivecert.catalog import Catalog, EmbeddedStore, RemoteStore, build_submission
from fakes import fake_run


def dataset(writer: str, i: int) -> str:
    return f"https://writer-{writer}.example.org/ds/{i}"


def main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "remote":
        # the writers share the server, not an index: each checks ownership against its own
        folder = Path(argv[6]) if len(argv) > 6 else None  # the node's index_dir
        store = Catalog(RemoteStore(argv[1], argv[2], index_check_interval_s=3600, index_dir=folder))
        writer, n, every = argv[3], int(argv[4]), int(argv[5])
    else:
        if len(argv) > 5:
            from derivecert.catalog import indexfile

            indexfile.FOLD_AFTER = int(argv[5])
        store = Catalog(EmbeddedStore(argv[1], query_processes=0))
        writer, n, every = argv[2], int(argv[3]), int(argv[4])
    institution = "hospital-a" if int(writer) % 2 else "hospital-b"
    for i in range(n):
        target = i - 3 if every and i % every == every - 1 else i
        title = f"writer {writer} dataset {target} version {i}"
        g, rg, results = fake_run(dataset(writer, target), title=title,
                                  filing=f"DC-20250101-W{int(writer):02d}{i:05d}")
        store.replace(build_submission(institution, g, rg, results))
        print(f"ACK {target} {title}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
