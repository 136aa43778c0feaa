"""Production shape over real sockets: ``make serve`` with three workers, two instances on one
database, one regenerator across all of them (the ``regenerator`` lease), takeover when its
holder is killed, identical bytes everywhere; and the systemd units that run the same parts."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import requests

from tests.helpers.instances import (
    FEED_PATHS,
    Instance,
    Probe,
    database,
    feed_state,
    fetch,
    has_article,
    holder_pid,
    make_serve,
    news_article,
    probe,
    put_article,
    seed,
    settings_env,
    store_params,
    wait_ready,
    wait_until,
)
from tests.helpers.paths import REPO
from tests.helpers.servers import free_port, started, wait_for

pytestmark = pytest.mark.slow

INTERVALS = 6  # sweeps counted over this many FEEDSVC_REGENERATE_SECONDS=1 intervals


def count_sweeps(url: str, seconds: float) -> int:
    """How many sweeps the deployment recorded (counter ``sweeps``) during ``seconds``."""
    with probe(url) as p:
        before = p.counter("sweeps")
        time.sleep(seconds)
        return p.counter("sweeps") - before


def other_holder(p: Probe, holder: str) -> str | None:
    """The lease's holder when it is no longer ``holder``."""
    lease = p.lease()
    return lease[0] if lease is not None and lease[0] != holder else None


def assert_one_regenerator(url: str) -> None:
    """Over INTERVALS one-second intervals, INTERVALS sweeps (±1), not one per process."""
    sweeps = count_sweeps(url, INTERVALS)
    print(f"{sweeps} sweeps in {INTERVALS} one-second intervals")
    assert abs(sweeps - INTERVALS) <= 1, f"{sweeps} sweeps in {INTERVALS} one-second intervals"


def differences(instances: list[Instance], rounds: int) -> list[str]:
    """Feeds that some instance (or some worker behind it) sends differently from the first."""
    reference = feed_state(instances[0].base)
    found = [f"{p} gzip={gz}: {r.status}" for (p, gz), r in reference.items() if r.status != 200]
    for instance in instances:
        for _ in range(rounds):
            for (path, gz), response in feed_state(instance.base).items():
                expected = reference[(path, gz)]
                if (response.status, response.etag, response.body) != (
                    expected.status,
                    expected.etag,
                    expected.body,
                ):
                    found.append(f"{instance.base}{path} gzip={gz}: {response.etag}")
    return found


def assert_same_everywhere(instances: list[Instance], rounds: int = 1) -> None:
    """Every instance (and every worker behind it) sends the same bytes and ETags per feed.

    Each worker loads new snapshots within a poll (0.2 s) of their saving, feed by feed; right
    after a write they may be one poll apart, so a difference must vanish within seconds.
    """
    wait_until(lambda: not differences(instances, rounds), 5, "identical feeds everywhere")
    assert not differences(instances, rounds)


@pytest.mark.parametrize("kind", store_params())
def test_three_workers_one_regenerator(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        env = settings_env(url)
        seed(env)
        with make_serve(env, tmp_path / "serve.log", workers=3) as instance:
            assert_one_regenerator(url)
            # Granian spreads requests over the workers: ask often enough to reach all three.
            assert_same_everywhere([instance], rounds=4)
            before = fetch(instance.url("/feeds/all.json")).etag
            assert put_article(instance.base, news_article("fresh-1", 1)).status_code == 201
            wait_until(lambda: has_article(instance.base, "fresh-1"), 10, "the new article")
            # Once one worker shows it, every worker must (each has its own snapshot watcher).
            wait_until(
                lambda: all(
                    fetch(instance.url("/feeds/all.json")).etag != before for _ in range(12)
                ),
                5,
                "every worker serving the new snapshot",
            )
            assert_same_everywhere([instance], rounds=4)


@pytest.mark.parametrize("kind", store_params())
def test_two_instances_one_regenerator_and_takeover(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        env = settings_env(url)
        seed(env)
        with (
            make_serve(env, tmp_path / "a.log", ready=False) as first,
            make_serve(env, tmp_path / "b.log", ready=False) as second,
        ):
            instances = [first, second]
            for instance in instances:
                wait_ready(instance.base)
            assert_one_regenerator(url)
            assert_same_everywhere(instances)

            # A write through either instance reaches both.
            assert put_article(second.base, news_article("via-b", 2)).status_code == 201
            for instance in instances:
                wait_until(partial(has_article, instance.base, "via-b"), 10, "via-b")
            assert_same_everywhere(instances)

            # Kill -9 the scheduler that holds the lease; the other instance takes over.
            with probe(url) as p:
                lease = p.lease()
                assert lease is not None
                holder = lease[0]
                pid = holder_pid(holder)
                owner = next(i for i in instances if i.owns(pid))
                survivor = second if owner is first else first
                killed_at = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                new_holder = wait_until(
                    partial(other_holder, p, holder),
                    20,
                    "another scheduler taking the lease",
                )
                takeover = time.monotonic() - killed_at
            print(f"takeover after SIGKILL of {holder}: {takeover:.2f} s by {new_holder}")
            assert survivor.owns(holder_pid(new_holder))
            assert takeover < 15
            # make serve stops the rest of an instance whose scheduler died (so systemd
            # restarts it whole); the survivor carries on alone.
            owner.proc.wait(timeout=20)
            assert_one_regenerator(url)
            assert put_article(survivor.base, news_article("after-kill", 3)).status_code == 201
            wait_until(lambda: has_article(survivor.base, "after-kill"), 10, "after-kill")


# --- systemd units -----------------------------------------------------------------------------

UNITS = REPO / "deploy" / "systemd"
DEPLOYED_ROOT = "/opt/feedsvc"
SETTINGS_FILE = "/etc/feedsvc/feedsvc.toml"


def exec_start(unit: Path) -> str:
    """The ExecStart command line of a unit, with systemd's ``$$`` and ``%%`` unescaped."""
    line = next(
        ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")
    ).removeprefix("ExecStart=")
    return line.replace(DEPLOYED_ROOT, str(REPO)).replace("$$", "$").replace("%%", "%")


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """Key -> values of every ``Key=value`` line of a unit."""
    found: dict[str, list[str]] = {}
    for ln in unit.read_text().splitlines():
        match = re.match(r"([A-Za-z]+)=(.*)", ln)
        if match:
            found.setdefault(match[1], []).append(match[2])
    return found


@pytest.mark.parametrize(
    "name", ["feedsvc-web.service", "feedsvc-scheduler.service", "feedsvc-relay.service"]
)
def test_systemd_unit_settings(name: str, tmp_path: Path) -> None:
    settings = unit_settings(UNITS / name)
    assert settings["Restart"] == ["on-failure"]
    # The settings file (owned by root), and an optional env file for the _FILE variables.
    assert f"FEEDSVC_CONFIG={SETTINGS_FILE}" in settings["Environment"]
    assert "-/etc/feedsvc/env" in settings["EnvironmentFile"]
    assert settings["WorkingDirectory"] == [DEPLOYED_ROOT]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is missing: apt-get install systemd")
    # Verify a copy that points at this checkout, so the executables it names exist.
    copy = tmp_path / name
    copy.write_text((UNITS / name).read_text().replace(DEPLOYED_ROOT, str(REPO)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    problems = [ln for ln in result.stderr.splitlines() if name in ln or "feedsvc" in ln]
    assert result.returncode == 0 and not problems, result.stderr


def unit_environment(unit: Path, runtime: Path, settings: Path) -> dict[str, str]:
    """The unit's ``Environment=`` assignments, its /run/feedsvc moved to ``runtime`` and its
    settings file to ``settings``."""
    env: dict[str, str] = {}
    for value in unit_settings(unit).get("Environment", []):
        for assignment in shlex.split(value):
            key, _, raw = assignment.partition("=")
            raw = raw.replace("/run/feedsvc", str(runtime))
            env[key] = raw.replace(SETTINGS_FILE, str(settings))
    return env


def metric_total(text: str, name: str) -> float:
    """The sum of every sample of ``name`` in a Prometheus text exposition."""
    pattern = re.compile(rf"^{name}(?:{{[^}}]*}})? (\S+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def test_systemd_units_run_the_service(tmp_path: Path) -> None:
    """The two ExecStart lines, run as systemd would (the unit's Environment= and the env file's
    variables), serve feeds and regenerate: the web unit alone renders nothing, the scheduler
    unit does, and the scheduler's /metrics listener (FEEDSVC_METRICS_BIND, from the env file both
    units read) adds up both (their shared multiprocess directory); the workers have none."""
    web_unit, scheduler_unit = UNITS / "feedsvc-web.service", UNITS / "feedsvc-scheduler.service"
    assert exec_start(web_unit).endswith("/.venv/bin/feedsvc serve --web-only")
    with database("sqlite", tmp_path) as url:
        port, metrics_port = free_port(), free_port()
        env = settings_env(url)
        seed(env, regenerate=False)
        # The address and the rest from the settings file, as deployed (deploy/README.md).
        settings = tmp_path / "feedsvc.toml"
        settings.write_text(
            f'bind = "127.0.0.1:{port}"\nworkers = 2\nmetrics_bind = "127.0.0.1:{metrics_port}"\n',
            encoding="utf-8",
        )
        runtime = tmp_path / "run"
        web_env = {**env, **unit_environment(web_unit, runtime, settings)}
        scheduler_env = {**env, **unit_environment(scheduler_unit, runtime, settings)}
        assert web_env["PROMETHEUS_MULTIPROC_DIR"] == scheduler_env["PROMETHEUS_MULTIPROC_DIR"]
        assert web_env["FEEDSVC_RUNTIME_DIR"] == scheduler_env["FEEDSVC_RUNTIME_DIR"]
        base = f"http://127.0.0.1:{port}"
        shell = ["/bin/sh", "-c"]
        with started([*shell, exec_start(web_unit)], web_env, tmp_path / "web.log"):
            wait_for(f"{base}/healthz", timeout=60, ok=(503,))
            assert fetch(base + FEED_PATHS[0]).status == 503  # known, nothing rendered yet
            with started([*shell, exec_start(scheduler_unit)], scheduler_env, tmp_path / "s.log"):
                for path in FEED_PATHS:
                    wait_for(base + path, timeout=30)
                wait_for(f"{base}/healthz", timeout=10)
                assert requests.get(f"{base}/metrics", timeout=5).status_code == 404
                scrape = f"http://127.0.0.1:{metrics_port}/metrics"

                def counted(name: str) -> bool:
                    return metric_total(requests.get(scrape, timeout=5).text, name) > 0

                wait_until(
                    lambda: counted("feedsvc_regeneration_runs_total"),
                    5,
                    "the scheduler's runs on its /metrics listener",
                )
                wait_until(
                    lambda: counted("feedsvc_feed_requests_total"),
                    5,
                    "the workers' feed requests on the scheduler's /metrics listener",
                )


def test_no_unit_splits_the_address_in_a_shell() -> None:
    """The address is FEEDSVC_BIND as feedsvc parses it (IPv6 included): no unit runs a shell,
    expands a variable or names the bind, and every command is the installed feedsvc."""
    for unit in sorted(UNITS.glob("*.service")):
        for key, values in unit_settings(unit).items():
            if not key.startswith("Exec"):
                continue
            for line in values:
                assert "$" not in line and "%" not in line and "BIND" not in line, (unit, line)
                program = shlex.split(line)[0]
                assert program == f"{DEPLOYED_ROOT}/.venv/bin/feedsvc", (unit, line)


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_feedsvc_serve_binds_an_ipv6_address(tmp_path: Path) -> None:
    """``feedsvc serve --web-only`` with FEEDSVC_BIND=[::1]:PORT answers over a real IPv6
    socket (and its access log names the client ::1 and counts the bytes sent)."""
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    with database("sqlite", tmp_path) as url:
        env = settings_env(
            url,
            FEEDSVC_BIND=f"[::1]:{port}",
            FEEDSVC_WORKERS="1",
            FEEDSVC_ACCESS_LOG="on",
            FEEDSVC_LOG_FORMAT="json",
        )
        seed(env)
        log = tmp_path / "serve.log"
        cmd = [sys.executable, "-m", "feedsvc", "serve", "--web-only"]
        with started(cmd, env, log):
            base = f"http://[::1]:{port}"
            assert wait_for(f"{base}/livez", timeout=60).json() == {"status": "ok"}
            feed = requests.get(f"{base}/feeds/all.rss", timeout=5)
            assert feed.status_code == 200
            wait_until(lambda: "feeds/all.rss" in log.read_text(), 5, "the access log line")
        text = log.read_text()
        assert f"workers on http://[::1]:{port}" in text
        (line,) = [
            json.loads(ln)
            for ln in text.splitlines()
            if ln.startswith("{") and '"/feeds/all.rss"' in ln
        ]
        assert line["client"] == "::1" and line["status"] == 200
        # What went over the wire: the gzip bytes requests asked for, not the feed unzipped.
        assert feed.headers["Content-Encoding"] == "gzip"
        assert line["bytes"] == int(feed.headers["Content-Length"]) < len(feed.content)
        assert line["user_agent"].startswith("python-requests/")
