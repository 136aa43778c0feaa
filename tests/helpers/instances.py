"""Real deployments for the production tests: a database of our own (a SQLite file, or a fresh
PostgreSQL database), ``make serve`` instances on free loopback ports, plain HTTP fetches that
keep the bytes as sent, and direct looks at the database (counters, the lease)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any, Literal, TypeVar

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from feedsvc import create_app, store
from feedsvc.store import schema
from feedsvc.store.db import Database
from feedsvc.store.models import Lease

from .app import article, category, load, services
from .paths import REPO
from .servers import free_port, started, wait_for

PG_ENV = "FEEDSVC_TEST_DATABASE_URL"
TOKEN = "production-test-token"
BASE_URL = "https://rss.bienphong.example"
FORMATS = ("rss", "atom", "json")
SLUGS = ("thoi-su", "kinh-te")
FEED_PATHS = tuple(f"/feeds/{slug}.{fmt}" for slug in ("all", *SLUGS) for fmt in FORMATS)
PG_SKIP = f"needs PostgreSQL: set {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test"

T = TypeVar("T")


def store_params() -> list[Any]:
    """``sqlite`` always, ``postgresql`` when FEEDSVC_TEST_DATABASE_URL is set."""
    marks = [pytest.mark.postgres]
    if not os.environ.get(PG_ENV):
        marks.append(pytest.mark.skip(reason=PG_SKIP))
    return ["sqlite", pytest.param("postgresql", marks=marks)]


requires_postgres = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=PG_SKIP)


# --- databases ---------------------------------------------------------------------------------


def pg_admin_url() -> str:
    """The URL of FEEDSVC_TEST_DATABASE_URL with the psycopg 3 driver spelled out."""
    return str(
        make_url(os.environ[PG_ENV])
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )


@contextmanager
def pg_admin() -> Iterator[Any]:
    """An AUTOCOMMIT connection to the admin database (CREATE/ALTER/DROP DATABASE)."""
    engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A database of our own with no schema: a SQLite file, or a PostgreSQL database dropped
    (sessions and all) at the end."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedsvc.db'}"
        return
    name = f"feedsvc_prod_{uuid.uuid4().hex[:10]}"
    with pg_admin() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of our own (see :func:`empty_database`)."""
    with empty_database(kind, tmp_path) as url:
        db = Database(url)
        schema.upgrade(db)
        db.dispose()
        yield url


def settings_env(url: str, **extra: str) -> dict[str, str]:
    """The FEEDSVC_* settings every process of one deployment shares."""
    env = {
        "FEEDSVC_DATABASE_URL": url,
        "FEEDSVC_BASE_URL": BASE_URL,
        "FEEDSVC_SITE_URL": "https://bienphong.example",
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_REGENERATE_SECONDS": "1",
        "FEEDSVC_LOG_FORMAT": "text",
    }
    env.update(extra)
    return env


def news_article(article_id: str, minutes_ago: float, *slugs: str) -> dict[str, Any]:
    """An article published ``minutes_ago`` before the real now (the servers run real time)."""
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return article(article_id, *(slugs or SLUGS[:1]), published_at=when.isoformat())


def seed(env: dict[str, str], count: int = 6, regenerate: bool = True) -> None:
    """Two categories and ``count`` articles, stored as the CLI would (and rendered once)."""
    app = create_app({**env, "FEEDSVC_SCHEDULER": "off"})
    try:
        articles = [
            news_article(f"seed-{i}", 60 + i, SLUGS[i % 2], *SLUGS[: i % 3 // 2])
            for i in range(count)
        ]
        load(app, [category(SLUGS[0], "Thời sự"), category(SLUGS[1], "Kinh tế")], articles)
        if regenerate:
            assert services(app).regenerator.run().ok
    finally:
        services(app).shutdown()


class Probe:
    """Direct reads of the deployment's database: counters, the lease, snapshot versions."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    def counter(self, name: str) -> int:
        """The value of a counter in the ``counters`` table."""
        with self.db.reading() as session:
            return store.read_counter(session, name)

    def lease(self) -> tuple[str, datetime] | None:
        """(holder, expires_at) of the regeneration lease, or None."""
        with self.db.reading() as session:
            row = session.execute(
                select(Lease.holder, Lease.expires_at).where(Lease.name == "regenerator")
            ).first()
        return None if row is None else (row[0], row[1])

    def versions(self) -> dict[str, int]:
        """Feed key -> stored snapshot version."""
        with self.db.reading() as session:
            return store.snapshot_versions(session)

    def dirty(self) -> set[str]:
        """Feeds changed since their last rendering (without touching feed_states)."""
        with self.db.reading() as session:
            rows = session.execute(
                text("SELECT key FROM feed_states WHERE change_seq > rendered_seq")
            )
            return {row[0] for row in rows}

    def close(self) -> None:
        """Close its connections."""
        self.db.dispose()


@contextmanager
def probe(url: str) -> Iterator[Probe]:
    """A :class:`Probe`, closed at the end."""
    p = Probe(url)
    try:
        yield p
    finally:
        p.close()


def holder_pid(holder: str) -> int:
    """The process id in a lease holder ``host:pid:nonce``."""
    return int(holder.split(":")[1])


# --- processes ---------------------------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """Processes still alive in the process group ``pgid`` (read from /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@contextmanager
def group(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[Popen[bytes]]:
    """:func:`started`, and at the end also whatever its process group left behind (after a
    leader that exited on its own, ``stop`` has nobody to signal)."""
    leader: Popen[bytes] | None = None
    try:
        with started(cmd, env, log) as leader:
            yield leader
    finally:
        for pid in group_members(leader.pid) if leader is not None else []:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Instance:
    """One running ``make serve``: its base URL, process (group leader) and log, and the base
    URL of its /metrics listener (FEEDSVC_METRICS_BIND) when it has one."""

    base: str
    proc: Popen[bytes]
    log: Path
    metrics: str | None = None

    def url(self, path: str) -> str:
        return self.base + path

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` is a process this instance started (in its process group)."""
        try:
            return os.getpgid(pid) == self.proc.pid
        except ProcessLookupError:
            return False


@contextmanager
def make_serve(
    env: dict[str, str], log: Path, workers: int = 2, ready: bool = True
) -> Iterator[Instance]:
    """``make serve`` on a free port (and its scheduler's /metrics listener on another), stopped
    at the end (its whole process group, and only it). With ``ready``, waits until it serves
    ``/feeds/all.rss`` (else call :func:`wait_ready`)."""
    port, metrics_port = free_port(), free_port()
    env = {
        **env,
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_WORKERS": str(workers),
        "FEEDSVC_METRICS_BIND": f"127.0.0.1:{metrics_port}",
    }
    with group(["make", "--no-print-directory", "serve"], env, log) as proc:
        metrics = f"http://127.0.0.1:{metrics_port}"
        instance = Instance(f"http://127.0.0.1:{port}", proc, log, metrics)
        if ready:
            wait_ready(instance.base)
        yield instance


def wait_ready(base: str) -> None:
    """Wait until a server at ``base`` serves the ``all`` feed."""
    wait_for(f"{base}/feeds/all.rss", timeout=60)


@contextmanager
def web_workers(env: dict[str, str], log: Path, workers: int = 2) -> Iterator[Instance]:
    """Only the web part of ``make serve`` (granian, FEEDSVC_SCHEDULER=off): nothing in it
    regenerates, so a test decides which process does. Ready once it answers /healthz."""
    port = free_port()
    cmd = [
        str(REPO / ".venv" / "bin" / "granian"),
        "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--blocking-threads", "1", "--no-ws",
        "--log-level", "warning", "wsgi:app",
    ]  # fmt: skip
    with group(cmd, {**env, "FEEDSVC_SCHEDULER": "off"}, log) as proc:
        instance = Instance(f"http://127.0.0.1:{port}", proc, log)
        wait_for(instance.url("/healthz"), timeout=60, ok=(200, 503))
        yield instance


@contextmanager
def flask_command(
    args: list[str], env: dict[str, str], log: Path, app: str = "wsgi"
) -> Iterator[Popen[bytes]]:
    """A long-running ``flask --app APP ARGS…`` (the scheduler), stopped at the end."""
    cmd = [str(REPO / ".venv" / "bin" / "flask"), "--app", app, *args]
    with group(cmd, env, log) as proc:
        yield proc


def wait_until(
    check: Callable[[], T | None | Literal[False]], timeout: float, what: str, every: float = 0.1
) -> T:
    """Call ``check`` until it returns something other than None or False (a Response is
    falsy when its status is 4xx/5xx, and sometimes that is what we wait for); return it, or
    fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError) as exc:
            last = exc
        else:
            if result is not None and result is not False:
                return result
            last = result
        time.sleep(every)
    raise AssertionError(f"{what} not within {timeout} s (last: {last!r})")


# --- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """A response as sent: status, headers, and the body bytes still encoded."""

    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    body: bytes

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")


def fetch(url: str, gzip: bool = False, headers: dict[str, str] | None = None) -> Fetched:
    """GET ``url`` with Accept-Encoding gzip or identity (unless ``headers`` say otherwise);
    the body is not decoded."""
    sent = {"Accept-Encoding": "gzip" if gzip else "identity", **(headers or {})}
    with requests.get(url, headers=sent, timeout=10, stream=True) as response:
        body = response.raw.read(decode_content=False)
        return Fetched(response.status_code, response.headers, body)


def feed_state(base: str, paths: tuple[str, ...] = FEED_PATHS) -> dict[tuple[str, bool], Fetched]:
    """Every feed in both encodings: (path, gzip) -> response."""
    return {(path, gz): fetch(base + path, gzip=gz) for path in paths for gz in (False, True)}


def item_ids(path: str, body: bytes) -> list[str]:
    """Parse a feed (RSS, Atom or JSON Feed) and return its item ids; fails if unparseable."""
    if path.endswith(".json"):
        return [item["id"] for item in json.loads(body)["items"]]
    root = etree.fromstring(body)
    if path.endswith(".rss"):
        return [str(guid) for guid in root.xpath("/rss/channel/item/guid/text()")]
    ns = {"a": "http://www.w3.org/2005/Atom"}
    return [str(i) for i in root.xpath("/a:feed/a:entry/a:id/text()", namespaces=ns)]


def answering(url: str, status: int) -> requests.Response | None:
    """The response to GET ``url`` when its status is ``status``, else None."""
    response = requests.get(url, timeout=10)
    return response if response.status_code == status else None


def has_article(base: str, article_id: str, path: str = "/feeds/all.json") -> bool:
    """Whether the feed at ``base + path`` lists ``article_id``."""
    response = fetch(base + path)
    return response.status == 200 and any(
        i.endswith(f":article/{article_id}") for i in item_ids(path, response.body)
    )


def workers_loaded(instance: Instance, workers: int, feeds: int = 1 + len(SLUGS)) -> bool:
    """Whether ``workers`` worker processes each hold ``feeds`` snapshots in memory, as their
    ``feedsvc_worker_snapshots`` series in /metrics say (one per process, flushed each second).
    Sends a few feed requests first, so that every worker has had one."""
    assert instance.metrics is not None, "an instance with a /metrics listener (make_serve)"
    for _ in range(4 * workers):
        requests.get(instance.base + FEED_PATHS[0], timeout=5)
    text = requests.get(instance.metrics + "/metrics", timeout=5).text
    values = re.findall(r"^feedsvc_worker_snapshots\{[^}]*\} (\S+)$", text, re.MULTILINE)
    return len(values) >= workers and all(float(v) >= feeds for v in values)


def put_article(base: str, record: dict[str, Any], token: str = TOKEN) -> requests.Response:
    """PUT /api/v1/articles/ID with the bearer token."""
    return requests.put(
        f"{base}/api/v1/articles/{record['id']}",
        json=record,
        headers={"Authorization": f"Bearer {token}"},
        timeout=40,
    )
