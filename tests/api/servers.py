"""Real `oxigraph serve` processes on 127.0.0.1 free ports, for the remote-store and federation tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


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
