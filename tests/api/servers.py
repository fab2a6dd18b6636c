"""Real SPARQL servers on 127.0.0.1 free ports, for the remote-store and federation tests:
`oxigraph serve` processes, and a Virtuoso (Debian's `virtuoso-opensource`) of the tests' own."""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyoxigraph as ox

from derivecert.catalog.backends.virtuoso_sql import DEFAULT_DRIVER
from derivecert.catalog.sparql import sparql_iri


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str:
    here = Path(sys.executable).parent / "oxigraph"
    found = str(here) if here.exists() else shutil.which("oxigraph")
    if not found:
        raise RuntimeError("the `oxigraph` server binary is missing: pip install '.[dev]' (package oxigraph)")
    return found


@dataclass
class OxigraphServer:
    """One `oxigraph serve --location DIR --bind 127.0.0.1:PORT --union-default-graph` process."""

    location: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/query"

    @property
    def update_url(self) -> str:
        return self.base + "/update"

    @property
    def gsp_url(self) -> str:
        return self.base + "/store"

    def start(self, timeout: float = 20.0) -> "OxigraphServer":
        self.port = self.port or free_port()
        self.location.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(self.location),
             "--bind", f"127.0.0.1:{self.port}", "--union-default-graph"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oxigraph exited: {self.process.stderr.read().decode()[:2000]}")
            try:
                r = httpx.get(self.query_url, params={"query": "ASK {}"}, timeout=1, trust_env=False)
                if r.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("oxigraph did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def clear(self) -> None:
        httpx.post(self.update_url, content=b"DROP ALL", headers={"Content-Type": "application/sparql-update"},
                   trust_env=False).raise_for_status()


VIRTUOSO_BINARY = "/usr/bin/virtuoso-t"  # Debian's virtuoso-opensource-7-bin

# A small server of its own: loopback ports, files in the test's directory, small buffers (it
# starts in about 3 s), no result-row cap below the catalog's size.
VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
Striping = 0
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
MaxQueryMem = {max_query_mem}
ThreadsPerQuery = 2
DirsAllowed = .
CaseMode = 2
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {max_query_s}
"""


@dataclass
class VirtuosoServer:
    """A `virtuoso-t +foreground` process of the tests' own (own virtuoso.ini, database in
    `location`).  Queries on /sparql; updates and Graph Store writes on the Digest-protected
    /sparql-auth and /sparql-graph-crud-auth and SQL writes on its SQL port, all as a node
    account (`username`) that `dba` creates at start."""

    location: Path
    port: int = 0
    sql_port: int = 0
    process: subprocess.Popen | None = None
    username: str = "derivecert"  # the node's account, made at start as README's recipe says
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    admin_password: str = "dba"   # a fresh database's `dba`: loopback only, deleted after the tests
    buffers: int = 4000    # 8 KB pages in memory: 32 MB for the tests (bench/remote_store.py gives more)
    max_rows: int = 10_000_000  # [SPARQL] ResultSetMaxRows: above any catalog of the tests
    # bench/remote_store.py sizes these for 100,000 datasets and more (README "Scale out")
    dirty_buffers: int | None = None  # [Parameters] MaxDirtyBuffers; None: 3/4 of the buffers
    max_query_s: int = 120      # [SPARQL] MaxQueryExecutionTime, seconds
    max_query_mem: str = "256M"  # [Parameters] MaxQueryMem

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/sparql"

    @property
    def update_url(self) -> str:
        return self.base + "/sparql-auth"

    @property
    def gsp_url(self) -> str:
        return self.base + "/sparql-graph-crud-auth"

    @property
    def sql_address(self) -> str:
        return f"127.0.0.1:{self.sql_port}"

    @staticmethod
    def available() -> bool:
        return Path(VIRTUOSO_BINARY).exists()

    def start(self, timeout: float = 60.0) -> "VirtuosoServer":
        if not self.available():
            raise RuntimeError(f"{VIRTUOSO_BINARY} is missing: apt-get install virtuoso-opensource (make test does)")
        self.port, self.sql_port = self.port or free_port(), self.sql_port or free_port()
        self.location.mkdir(parents=True, exist_ok=True)
        ini = self.location / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(dir=self.location, sql_port=self.sql_port, http_port=self.port,
                                           buffers=self.buffers,
                                           dirty_buffers=self.dirty_buffers or self.buffers * 3 // 4,
                                           max_rows=self.max_rows, max_query_s=self.max_query_s,
                                           max_query_mem=self.max_query_mem))
        with open(self.location / "stderr.log", "ab") as err:
            self.process = subprocess.Popen([VIRTUOSO_BINARY, "+foreground", "+configfile", str(ini)],
                                            cwd=self.location, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.location / "virtuoso.log")
                raise RuntimeError("virtuoso exited: " + (log.read_text(errors="replace")[-3000:] if log.exists() else ""))
            try:
                r = httpx.get(self.query_url, params={"query": "ASK {}"}, timeout=1, trust_env=False)
                if r.status_code == 200:
                    self.create_account()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("virtuoso did not start in time")

    def create_account(self) -> None:
        """The node's account: SPARQL updates (HTTP and SQL) and write access to the graphs."""
        import pyodbc

        # Virtuoso's procedures refuse bound NVARCHAR parameters: the values (ours, [A-Za-z0-9_-])
        # are written into the statements
        assert re.fullmatch(r"[\w-]+", self.username) and re.fullmatch(r"[\w-]+", self.password)
        conn = pyodbc.connect(f"DRIVER={DEFAULT_DRIVER};HOST={self.sql_address};UID=dba;PWD={self.admin_password}",
                              autocommit=True)
        try:
            cursor = conn.cursor()
            cursor.execute(f"DB.DBA.USER_CREATE('{self.username}', '{self.password}')")
            cursor.execute(f'GRANT SPARQL_UPDATE TO "{self.username}"')
            cursor.execute(f"DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{self.username}', 3)")
        finally:
            conn.close()

    def peak_rss_mb(self) -> int | None:
        """The server process's peak resident memory so far (VmHWM), MB."""
        if self.process is None or self.process.poll() is not None:
            return None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return round(int(status.split("VmHWM:")[1].split()[0]) / 1024)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def update(self, text: str) -> None:
        httpx.post(self.update_url, content=text.encode("utf-8"), headers={"Content-Type": "application/sparql-update"},
                   auth=httpx.DigestAuth(self.username, self.password), trust_env=False, timeout=60).raise_for_status()

    def graphs(self) -> list[str]:
        r = httpx.post(self.query_url, data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
                       headers={"Accept": "application/sparql-results+xml"}, trust_env=False, timeout=60)
        r.raise_for_status()
        return [s["g"].value for s in ox.parse_query_results(r.content, format=ox.QueryResultsFormat.XML)]

    def clear(self) -> None:
        """Drop the graphs the tests wrote (Virtuoso's own system graphs stay: it needs them)."""
        for g in self.graphs():
            if g.startswith(("https://w3id.org/derivecert/", "http://unrelated.example/")):
                self.update(f"DROP SILENT GRAPH {sparql_iri(g)}")


@dataclass
class LiveNode:
    """A DeriveCert node in its own process (`tests/api/live_node.py`) on 127.0.0.1: a free port,
    an embedded store in `location`, the real engine unless `engine=False`."""

    location: Path
    engine: bool = True
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> "LiveNode":
        self.port = free_port()
        args = [sys.executable, str(Path(__file__).with_name("live_node.py")), str(self.port), str(self.location)]
        with open(self.log, "ab") as log:  # a file, not a pipe: a full pipe would block the server
            self.process = subprocess.Popen(args + ([] if self.engine else ["--no-engine"]),
                                            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the live node exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the live node did not start in time")

    @property
    def log(self) -> Path:
        return self.location.with_name(self.location.name + ".log")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> str:
        """Stop the process (SIGTERM, then SIGKILL) and return what it wrote on stderr."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Listener:
    """A local TCP listener that records every connection attempt."""

    def __init__(self, hold: bool = False):
        self.hold = hold  # keep connections open without answering (a silent peer)
        self.held: list[socket.socket] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                if self.hold:
                    self.held.append(conn)
                else:
                    conn.close()
            except (socket.timeout, OSError):
                continue

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()
