"""Atomic writes to Virtuoso: its SQL port, through its ODBC driver, one transaction a request.

Virtuoso's HTTP SPARQL endpoint commits each operation of an update request by itself: when an
operation fails, those before it stay (tested in tests/api/test_store.py; OpenLink's answer is
to use a SQL interface for transactions, openlink/virtuoso-opensource#608).  A submission is
several operations (delete the old version, insert the new one, the ledger, the generation), so
over HTTP a failure between them would leave a half-replaced dataset.  Here each operation runs
as a ``SPARQL`` statement of one SQL transaction, committed after the last and rolled back on
any error; a connection lost before the commit is rolled back by the server.

Values enter the texts only through `sparql_term`, as everywhere (the texts are the same ones
the HTTP path sends).  Needs the `pyodbc` package, unixODBC (`libodbc2`) and Virtuoso's driver
(`libvirtodbc0`, installed with `virtuoso-opensource`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from ..errors import StoreError

log = logging.getLogger("derivecert.catalog")

#: times a write rolled back as a deadlock's victim runs again
DEADLOCK_RETRIES = 5
#: Debian's Virtuoso ODBC driver (package libvirtodbc0), the thread-safe build
DEFAULT_DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/virtodbc_r.so"


class VirtuosoSQL:
    """One SQL connection, opened at first use and again after a failure; writes serialised."""

    def __init__(self, address: str, username: str, password: str, *, driver: str = DEFAULT_DRIVER,
                 timeout: float = 30.0):
        for part in (address, username, password, driver):
            if any(c in part for c in ";{}\x00"):  # ODBC connection-string syntax
                raise StoreError("store.sql_address, username, password and odbc_driver may not contain ; { } or NUL")
        self._connect_string = f"DRIVER={driver};HOST={address};UID={username};PWD={password};CHARSET=UTF-8"
        self.timeout = timeout
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connection(self):
        if self._conn is None:
            try:
                import pyodbc
            except ImportError as exc:  # pragma: no cover - an install without the extra
                raise StoreError("store.sql_address needs the pyodbc package: pip install 'derivecert[virtuoso]'") from exc
            try:
                conn = pyodbc.connect(self._connect_string, autocommit=False, timeout=int(self.timeout))
            except pyodbc.Error as exc:
                raise StoreError(f"cannot connect to Virtuoso's SQL port: {exc}") from exc
            conn.setencoding(encoding="utf-8")
            conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
            conn.setdecoding(pyodbc.SQL_WCHAR, encoding="utf-8")
            conn.timeout = int(self.timeout)
            self._conn = conn
        return self._conn

    def run(self, ops: list[str]) -> None:
        """Run SPARQL update texts (one operation each, with their prefixes) in one transaction.
        A transaction Virtuoso chose as a deadlock's victim (SQLSTATE 40001: writers of several
        nodes meeting on the generation and the change feed's head) was rolled back whole, and
        runs again, a few times."""
        import pyodbc

        with self._lock:
            for attempt in range(DEADLOCK_RETRIES + 1):
                conn = self._connection()
                try:
                    cursor = conn.cursor()
                    for op in ops:
                        cursor.execute("SPARQL " + op)
                    conn.commit()
                    return
                except pyodbc.Error as exc:
                    self._discard()
                    if exc.args and exc.args[0] == "40001" and attempt < DEADLOCK_RETRIES:
                        log.info("Virtuoso rolled back a write as a deadlock's victim: running it again")
                        time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
                        continue
                    # the server's text may quote the update: logged, never sent to a client
                    log.warning("Virtuoso refused an update (rolled back): %s", str(exc)[:2000])
                    raise StoreError("the SPARQL server refused an update of the catalog; nothing of it was "
                                     "written, and its answer is in the node's log") from exc

    def _discard(self) -> None:
        """Roll back and drop the connection (the next write opens a fresh one)."""
        conn, self._conn = self._conn, None
        for step in (conn.rollback, conn.close):
            try:
                step()
            except Exception:  # noqa: BLE001 - a broken connection: the server rolls back
                pass

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._discard()
