"""Private PostgreSQL, MariaDB and Redis servers for tests that stop and start them.

Each runs on a spare port with its files in a temporary folder of its own, starts again on the same port after
a stop (an outage, as clients see it), and is stopped and deleted when its context ends. Every start waits for
the server to answer, with a deadline, and raises `InstanceError` with the end of the server's log otherwise.
The machine's own servers (5432, 3306, 6379) are never touched.

PostgreSQL refuses to run as root, so under root its programs run as the `postgres` OS user (`runuser`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import free_port

START_SECONDS = 30.0
STOP_SECONDS = 30.0
LOG_TAIL_CHARS = 4000
# Debian installs each PostgreSQL major version's server programs here, outside PATH.
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# mariadbd lives in sbin, which a non-root PATH often lacks.
SBIN = "/usr/sbin:/usr/local/sbin"
IS_ROOT = os.geteuid() == 0


class InstanceError(RuntimeError):
    """A private server did not start, answer or stop; the message carries the end of its log."""


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-LOG_TAIL_CHARS:] if log.exists() else "(no log written)"


def _wait_until(
    answers: Callable[[], bool], *, what: str, log: Path, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not answers():
        if process is not None and process.poll() is not None:
            raise InstanceError(f"{what} exited with {process.returncode}; its log ends:\n{_tail(log)}")
        if time.monotonic() > deadline:
            _stop(process)
            raise InstanceError(f"{what} did not answer within {START_SECONDS}s; its log ends:\n{_tail(log)}")
        time.sleep(0.05)


def _run(command: Sequence[str], *, what: str, log: Path) -> str:
    """Run a setup program to completion; its output goes to `log` as well, for the error message."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=START_SECONDS, check=False)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise InstanceError(f"{what} failed with {result.returncode}; the log ends:\n{_tail(log)}")
    return result.stdout


def _program(name: str, *, extra_path: str = "") -> str:
    found = shutil.which(name) or (shutil.which(name, path=extra_path) if extra_path else None)
    if found is None:
        raise InstanceError(f"{name} is not installed")
    return found


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL if the server takes too long."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGCONT)  # a frozen server handles SIGTERM only once it runs again
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _folder(prefix: str, *, owner: str | None = None) -> Iterator[Path]:
    """A short temporary path (Unix socket paths are limited to about 100 bytes), deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if owner is not None:
            shutil.chown(folder, user=owner, group=owner)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Redis


class RedisInstance:
    """redis-server without persistence: a restart starts empty, as a cache that lost its memory does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            _program("redis-server"),
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_until(self._answers, what=f"redis-server on port {self.port}", log=self.log, process=self._process)

    def _answers(self) -> bool:
        # A bare PING: redis-py's clients back off for seconds between refused connections.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def freeze(self) -> None:
        """Suspend the server (SIGSTOP) with its sockets open: clients' commands go unanswered, as with a hung
        server or a network black hole, until `thaw`."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, number: signal.Signals) -> None:
        if self._process is None or self._process.poll() is not None:
            raise InstanceError(f"redis-server on port {self.port} is not running")
        self._process.send_signal(number)

    def stop(self) -> None:
        _stop(self._process)


@contextlib.contextmanager
def redis_instance() -> Iterator[RedisInstance]:
    with _folder("parley-redis-") as folder:
        server = RedisInstance(folder)
        try:
            server.start()
            yield server
        finally:
            server.stop()


# PostgreSQL


def _postgres_bin() -> Path:
    """The newest server installed the Debian way, else the programs on PATH."""
    versions = sorted(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    if versions:
        return versions[-1]
    return Path(_program("initdb")).parent


class PostgresInstance:
    """A PostgreSQL cluster of its own (initdb), trusting connections on 127.0.0.1, without fsync for speed."""

    name = "PostgreSQL"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self._bin = _postgres_bin()
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if IS_ROOT else []

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, program: str, *args: str) -> str:
        return _run([*self._as_postgres, str(self._bin / program), *args], what=program, log=self.folder / "setup.log")

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")

    def start(self, *, accepting: bool = True) -> None:
        """Start; with `accepting=False` the server comes up as a standby with hot standby off, so it answers
        every connection with SQLSTATE 57P03 ("not accepting connections"), as PostgreSQL does for a moment
        whenever it starts up or shuts down, here for as long as the test needs."""
        standby = self.data / "standby.signal"
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        if accepting:
            standby.unlink(missing_ok=True)
        else:
            standby.touch()
            options += " -c hot_standby=off"
        try:
            self._pg("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(START_SECONDS)),
                     "-o", options)  # fmt: skip
        except InstanceError as error:
            raise InstanceError(f"{error}\nthe server's log ends:\n{_tail(self.log)}") from None

    def stop(self) -> None:
        """A fast shutdown: open sessions are ended, as they are when a database server goes away."""
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", str(int(STOP_SECONDS)))

    def create_database(self, name: str) -> None:
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)


@contextlib.contextmanager
def postgres_instance(database: str = "parley") -> Iterator[PostgresInstance]:
    """A started PostgreSQL server holding an empty `database`."""
    with _folder("parley-pg-", owner="postgres" if IS_ROOT else None) as folder:
        server = PostgresInstance(folder)
        server.init()
        try:
            server.start()
            server.create_database(database)
            yield server
        finally:
            server.stop()


# MariaDB


class MariaDbInstance:
    """mariadbd with a datadir, socket, pid file and port of its own; `root` has no password on 127.0.0.1."""

    name = "MariaDB"

    def __init__(self, folder: Path, *, options: Sequence[str] = ()) -> None:
        self.folder = folder
        self.port = free_port()
        self.data = folder / "data"
        self.socket = folder / "mariadb.sock"
        self.log = folder / "mariadb.log"
        self.options = list(options)
        self._user = ["--user=root"] if IS_ROOT else []
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/{database}"

    def install(self) -> None:
        command = [
            _program("mariadb-install-db"), "--no-defaults", f"--datadir={self.data}", *self._user,
            "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
        ]  # fmt: skip
        _run(command, what="mariadb-install-db", log=self.folder / "setup.log")

    def start(self) -> None:
        command = [
            _program("mariadbd", extra_path=SBIN), "--no-defaults", *self._user,
            f"--datadir={self.data}", f"--socket={self.socket}", f"--pid-file={self.folder / 'mariadb.pid'}",
            f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=2", *self.options,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_until(self._answers, what=f"mariadbd on port {self.port}", log=self.log, process=self._process)

    def _answers(self) -> bool:
        return self.socket.exists() and self._client("SELECT 1").returncode == 0

    def _client(self, sql: str) -> subprocess.CompletedProcess[str]:
        command = [
            _program("mariadb"), "--no-defaults", f"--socket={self.socket}", "--user=root",
            "--batch", "--skip-column-names", f"--execute={sql}",
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=START_SECONDS, check=False)

    def sql(self, sql: str) -> str:
        """Run `sql` (statements separated by `;`) as root over the socket; the rows as tab-separated text."""
        result = self._client(sql)
        if result.returncode != 0:
            raise InstanceError(f"mariadbd on port {self.port} refused {sql!r}: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        _stop(self._process)


@contextlib.contextmanager
def _running(*servers: MariaDbInstance) -> Iterator[None]:
    """Install (at once) and start `servers`; stop them on leaving."""
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(MariaDbInstance.install, servers))
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def mariadb_instance(database: str = "parley") -> Iterator[MariaDbInstance]:
    """A started MariaDB server holding an empty `database`."""
    with _folder("parley-mariadb-") as folder:
        server = MariaDbInstance(folder)
        with _running(server):
            server.create_database(database)
            yield server


@dataclass(frozen=True)
class ReplicaPair:
    """A MariaDB primary and its read-only replica, replicating by GTID."""

    primary: MariaDbInstance
    replica: MariaDbInstance

    def wait_replicated(self, timeout: float = 10.0) -> None:
        """Wait until the replica has applied everything the primary has committed so far."""
        position = self.primary.sql("SELECT @@gtid_binlog_pos")
        if not re.fullmatch(r"[0-9,-]*", position):
            raise InstanceError(f"unexpected GTID position {position!r}")
        if self.replica.sql(f"SELECT MASTER_GTID_WAIT('{position}', {timeout})") != "0":
            status = self.replica.sql("SHOW SLAVE STATUS\\G")
            raise InstanceError(f"the replica did not reach {position} within {timeout}s:\n{status}")

    def pause(self) -> None:
        """Stop applying changes (the replica lags from now on); they are still fetched, so none is lost."""
        self.replica.sql("STOP SLAVE SQL_THREAD")

    def resume(self) -> None:
        self.replica.sql("START SLAVE SQL_THREAD")

    def restore(self) -> None:
        """Replicating and caught up again, whether the replica was paused or stopped."""
        if not self.replica.running:
            self.replica.start()  # its replication threads start with it
        self.resume()
        self.wait_replicated()

    def create_database(self, name: str) -> None:
        """An empty database on the primary, there on the replica too once this returns."""
        self.primary.create_database(name)
        self.wait_replicated()


@contextlib.contextmanager
def mariadb_replica_pair() -> Iterator[ReplicaPair]:
    """A primary (`log-bin`, row-based) and a replica of it, replicating everything the primary holds."""
    with _folder("parley-primary-") as primary_folder, _folder("parley-replica-") as replica_folder:
        primary = MariaDbInstance(primary_folder, options=["--server-id=1", "--log-bin=binlog", "--binlog-format=ROW"])
        replica = MariaDbInstance(replica_folder, options=["--server-id=2", "--read-only=ON", "--relay-log=relay"])
        with _running(primary, replica):
            yield _replicate(primary, replica)


def _replicate(primary: MariaDbInstance, replica: MariaDbInstance) -> ReplicaPair:
    """Make `replica` replicate `primary` from the start of its binlog, by GTID."""
    password = secrets.token_hex(12)
    # The replication account is made with binary logging off, so it never reaches the replica.
    primary.sql(
        "SET SESSION sql_log_bin = 0;"
        f"CREATE USER 'replication'@'127.0.0.1' IDENTIFIED BY '{password}';"
        "GRANT REPLICATION SLAVE ON *.* TO 'replication'@'127.0.0.1'"
    )
    replica.sql(
        f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, MASTER_USER='replication',"
        f" MASTER_PASSWORD='{password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;"
        "START SLAVE"
    )
    pair = ReplicaPair(primary=primary, replica=replica)
    pair.wait_replicated()
    return pair
