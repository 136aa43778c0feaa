"""The package as a stranger gets it: the wheel built from the repository, installed with the
production lock into a fresh virtual environment that holds no development tool, then, from an
empty folder, ``feedsvc init-db``, ``feedsvc demo-data`` and ``feedsvc serve`` (one worker, on a
free loopback port) serving a real RSS feed and the demo photos, stopped by its process id.

pip installs from the index this machine's pip is configured with (its own mirror here, PyPI in
CI). Each step has a time limit; the whole takes about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.instances import group_members
from tests.helpers.paths import REPO
from tests.helpers.servers import free_port, wait_for

pytestmark = pytest.mark.slow

# What a build never needs, and a copy of the repository must not carry into it.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "instance", "test-output", "build", "dist", "*.egg-info", "__pycache__",
    "*.pyc", ".*_cache", "out",
)  # fmt: skip


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run ``cmd`` to completion; its standard output, or a failure showing what it printed."""
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel`` builds from a copy of the repository (a build writes into its
    source folder: the checkout stays untouched)."""
    tmp_path = tmp_path_factory.mktemp("build")
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)],
        tmp_path, dict(os.environ), timeout=300)  # fmt: skip
    (built,) = dist.glob("feedsvc-*.whl")
    return built


def lock_pins() -> dict[str, str]:
    """Name -> version of every package requirements.lock pins."""
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line[:1].isalnum():
            requirement = Requirement(line.split(" \\")[0])
            (spec,) = requirement.specifier
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A virtual environment with nothing but the lock's packages and the wheel: created
    without pip (this process's pip installs into it), without the system's site-packages."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ), 60)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python"]
    pip.append(str(venv / "bin" / "python"))
    lock = str(REPO / "requirements.lock")
    run([*pip, "install", "--quiet", "--require-hashes", "-r", lock],
        tmp_path, dict(os.environ), timeout=300)  # fmt: skip
    run([*pip, "install", "--quiet", "--no-deps", str(wheel)], tmp_path, dict(os.environ), 60)
    return venv


def clean_env(**settings: str) -> dict[str, str]:
    """A minimal environment: no PYTHONPATH, no FEEDSVC_* of the test run, only ``settings``."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **settings}


@contextmanager
def serving(feedsvc: str, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``feedsvc serve`` in a session of its own; at the end, whatever of its session is left
    is killed (after the test stopped it by its process id)."""
    log = (cwd / "serve.log").open("wb")
    proc = subprocess.Popen(
        [feedsvc, "serve"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            proc.kill()
        for pid in group_members(proc.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()


def test_wheel_holds_every_package_file_and_the_demo_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        str(path.relative_to(REPO))
        for path in (REPO / "feedsvc").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sources - names == set(), "files under feedsvc/ missing from the wheel"
    copies = {f"feedsvc/demo/data/{path.name}" for path in (REPO / "config").glob("*.jsonl")}
    assert copies and copies <= names
    top = {name.split("/")[0] for name in names}
    assert top == {"feedsvc", wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info"}
    with zipfile.ZipFile(wheel) as archive:
        for copy in copies:
            source = REPO / "config" / copy.rsplit("/", 1)[1]
            assert archive.read(copy) == source.read_bytes(), f"{copy} differs from config/"
        entry_points = archive.read(f"{sorted(top)[1]}/entry_points.txt").decode()
    assert "feedsvc = feedsvc.console:main" in entry_points


def test_installed_wheel_serves_the_demo_newsroom_from_an_empty_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = fresh_venv(tmp_path, wheel)
    python, feedsvc = str(venv / "bin" / "python"), str(venv / "bin" / "feedsvc")
    site = tmp_path / "site"
    site.mkdir()

    # Only the lock's packages and feedsvc: no pytest, no linters, not even pip.
    listing = run([python, "-c", INSTALLED], site, clean_env(), 60)
    installed = json.loads(listing)
    expected = {**lock_pins(), "feedsvc": project_version()}
    assert installed["dists"] == expected
    assert installed["feedsvc"].startswith(str(venv)), "feedsvc imported from outside the venv"
    assert run([feedsvc, "--version"], site, clean_env(), 60) == f"feedsvc {expected['feedsvc']}\n"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(FEEDSVC_BIND=f"127.0.0.1:{port}", FEEDSVC_WORKERS="1", FEEDSVC_BASE_URL=base)
    assert "database at revision" in run([feedsvc, "init-db"], site, env, 60)
    assert (site / "instance" / "feedsvc.db").is_file()  # the default: in the working folder
    assert "articles stored, 0 rejected" in run([feedsvc, "demo-data"], site, env, 120)

    with serving(feedsvc, site, env) as server:
        feed = wait_for(f"{base}/feeds/thoi-su.rss", timeout=60)
        parsed = feedparser.parse(feed.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.version == "rss20" and len(parsed.entries) >= 10
        assert parsed.feed.link == "https://bienphong.example"
        photos = [enclosure.href for item in parsed.entries for enclosure in item.enclosures]
        assert len(photos) == len(parsed.entries)  # every demo article has its photo
        photo_url = photos[0]
        assert photo_url.startswith(f"{base}/static/demo/")
        photo = requests.get(photo_url, timeout=10)
        assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
        shipped = REPO / "feedsvc" / "static" / "demo" / urlsplit(photo_url).path.rsplit("/")[-1]
        assert photo.content == shipped.read_bytes()
        assert requests.get(f"{base}/", timeout=10).status_code == 200  # templates are there

        os.kill(server.pid, signal.SIGTERM)
        assert server.wait(timeout=30) == 0, (site / "serve.log").read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/feeds/thoi-su.rss", timeout=5)


def project_version() -> str:
    """The version pyproject.toml declares."""
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


# Run inside the fresh environment: its distributions (canonical name -> version) and where
# feedsvc is imported from.
INSTALLED = """
import json, re
from importlib import metadata
import feedsvc
dists = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version
         for d in metadata.distributions()}
print(json.dumps({"dists": dists, "feedsvc": feedsvc.__file__}))
"""
