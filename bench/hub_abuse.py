"""The built-in WebSub hub under attack (issue 13): what an honest subscriber and the web
workers feel while strangers abuse ``make serve``.

1. **Starvation.** An honest subscriber is subscribed to one category's JSON Feed; an attacker
   then sends 100 subscribe requests a minute, each naming a callback that accepts the
   connection and never answers, while articles are published one at a time. The figure is
   the honest subscriber's publish-to-delivery latency. Run twice: with the endpoint's limits
   opened (the attacker has many addresses and host names, so every request reaches the
   worker, whose reserved delivery slots, per-host concurrency and one short try are what is
   measured), and with the default limits.
2. **Oversized bodies.** 20 clients stream 100 MB bodies (with a Content-Length, and chunked)
   at ``/websub``, then at the ingest API (with a valid token: its cap is
   FEEDSVC_MAX_BODY_BYTES); the figure is the peak resident memory (VmHWM) of each web worker.

Everything runs on 127.0.0.1 with production settings otherwise (FEEDSVC_WEBSUB_TIMEOUT_SECONDS
10, FEEDSVC_WEBSUB_VERIFY_TIMEOUT_SECONDS 3).

    python -m bench.hub_abuse
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench import WORKSPACE_ENV, Figure, free_port, percentile, standalone, started, wait_http
from bench.memory import _granian_workers, _vm_kb
from bench.websub_latency import SLUG, TOKEN, Subscriber, publish, subscribe

ATTACK_PER_MINUTE = 100
TARGET_P95_MS = 1000.0
TARGET_WORKER_MB = 250.0
CLIENTS = 20
BODY_BYTES = 100 * 1000 * 1000
GAP = 1.0  # seconds between publishes during the attack
# Spellings of 127.0.0.1 the hub counts as different callback hosts (an attacker's many names).
SPELLINGS = ("127.1", "2130706433", "0x7f000001", "0177.0.0.1")
OPENED = {
    "FEEDSVC_WEBSUB_REQUESTS_PER_MINUTE": "100000",
    "FEEDSVC_WEBSUB_MAX_PENDING_PER_HOST": "1000000",
}


class Silent:
    """A callback server that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.held.append(conn)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for conn in self.held:
                conn.close()


@contextmanager
def serve(folder: Path, name: str, **settings: str) -> Iterator[tuple[str, int]]:
    """``make serve`` with the built-in hub on a fresh SQLite file: (base URL, its pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FEEDSVC_DATABASE_URL": f"sqlite:///{folder / f'{name}-{port}.db'}",
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_BASE_URL": base,
        "FEEDSVC_API_TOKENS": TOKEN,
        "FEEDSVC_WEBSUB_HUB": "self",
        "FEEDSVC_WEBSUB_ALLOW_PRIVATE": "on",  # every callback listens on 127.0.0.1
        **settings,
    }
    cmd = ["make", "--no-print-directory", "-s", "serve"]
    with started(cmd, env, folder / f"{name}-{port}.log") as proc:
        wait_http(f"{base}/", timeout=120, proc=proc)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{base}/api/v1/categories/{SLUG}"
        requests.put(url, json={"name": "Thời sự"}, headers=headers, timeout=10)
        deadline = time.monotonic() + 120
        while requests.get(f"{base}/feeds/{SLUG}.json", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base}/feeds/{SLUG}.json never appeared")
            time.sleep(0.2)
        yield base, proc.pid


# --- 1. starvation ------------------------------------------------------------------------------


def attack(base: str, silent: Silent, stop: threading.Event, answers: Counter[int]) -> None:
    """Subscribe requests at ATTACK_PER_MINUTE, each at a never-answering callback."""
    topic = f"{base}/feeds/{SLUG}.json"
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        host = SPELLINGS[n % len(SPELLINGS)]
        form = {"hub.mode": "subscribe", "hub.topic": topic,
                "hub.callback": f"http://{host}:{silent.port}/never/{n}"}  # fmt: skip
        try:
            answers[requests.post(f"{base}/websub", data=form, timeout=10).status_code] += 1
        except requests.RequestException:
            answers[0] += 1
        n += 1
        next_at += 60.0 / ATTACK_PER_MINUTE
        stop.wait(max(0.0, next_at - time.monotonic()))


def latency_under_attack(folder: Path, name: str, seconds: float, **settings: str) -> Figure:
    """The honest subscriber's delivery latency p95 while the attack runs for ``seconds``."""
    silent = Silent()
    honest = Subscriber()
    answers: Counter[int] = Counter()
    stop = threading.Event()
    latencies: list[float] = []
    try:
        with serve(folder, name, **settings) as (base, _pid):
            subscribe(base, [honest])
            attacker = threading.Thread(target=attack, args=(base, silent, stop, answers))
            attacker.start()
            time.sleep(3.0)  # the attack's verifications are under way before the first publish
            ends = time.monotonic() + seconds
            n = 0
            while time.monotonic() < ends:
                url, sent, _took = publish(base, n)
                arrived = honest.wait_for(url, 30.0)
                if arrived is None:
                    raise RuntimeError(f"publish {n} did not reach the honest subscriber in 30 s")
                latencies.append((arrived - sent) * 1000)
                n += 1
                time.sleep(GAP)
            stop.set()
            attacker.join()
    finally:
        stop.set()
        honest.close()
        silent.close()
    p95 = percentile(latencies, 95)
    taken = answers[202]
    refused = sum(count for status, count in answers.items() if status != 202)
    return Figure(
        "hub_abuse", f"honest delivery p95 under attack, {name}", p95, "ms",
        target=f"<= {TARGET_P95_MS:g} ms", ok=p95 <= TARGET_P95_MS,
        note=f"{len(latencies)} deliveries, p50 {percentile(latencies, 50):.0f} ms, max "
        f"{max(latencies):.0f} ms; attack {ATTACK_PER_MINUTE}/min: {taken} taken, "
        f"{refused} refused {dict(sorted(answers.items()))}",
    )  # fmt: skip


# --- 2. oversized bodies ------------------------------------------------------------------------


def stream(
    port: int, method: str, path: str, chunked: bool, headers: dict[str, str]
) -> tuple[int, int]:
    """Send a BODY_BYTES body to ``path`` as fast as the server takes it; (status, bytes sent)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}")
    piece = b"a" * 65536
    frame = b"10000\r\n" + piece + b"\r\n" if chunked else piece
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while sent < BODY_BYTES:
                sock.sendall(frame)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # refused: the server answered and closed
        try:
            answer = sock.recv(64)
        except OSError:
            return 0, sent
    parts = answer.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), sent


def flood(
    port: int, method: str, path: str, headers: dict[str, str], seconds: float
) -> Counter[int]:
    """CLIENTS clients streaming oversized bodies at ``path`` for ``seconds``: their answers."""
    answers: Counter[int] = Counter()
    lock = threading.Lock()
    ends = time.monotonic() + seconds

    def client(n: int) -> None:
        while time.monotonic() < ends:
            status, _sent = stream(port, method, path, bool(n % 2), headers)
            with lock:
                answers[status] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def memory_under_oversized_bodies(folder: Path, seconds: float) -> list[Figure]:
    """Peak memory of each web worker while CLIENTS clients stream 100 MB bodies."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    api = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    figures = []
    # The endpoint's limits opened: every request gets as far as its body (else most get 429).
    with serve(folder, "bodies", **OPENED) as (base, pid):
        port = int(base.rsplit(":", 1)[1])
        workers = _granian_workers(pid)
        if not workers:
            raise RuntimeError("no granian worker process found under make serve")
        idle = max(_vm_kb(w, "VmHWM") for w in workers) / 1024
        for name, method, path, headers in (
            ("/websub", "POST", "/websub", form),
            ("the API", "PUT", "/api/v1/articles/bench-oversized", api),
        ):
            reset = all(_reset_peak(w) for w in workers)
            answers = flood(port, method, path, headers, seconds)
            peaks = [_vm_kb(w, "VmHWM") / 1024 for w in workers]
            if requests.get(f"{base}/feeds/{SLUG}.json", timeout=5).status_code != 200:
                raise RuntimeError("the feed stopped answering during the flood")
            figures.append(
                Figure(
                    "hub_abuse", f"worker peak RSS, {CLIENTS} clients x 100 MB at {name}",
                    max(peaks), "MB", target=f"< {TARGET_WORKER_MB:g} MB",
                    ok=max(peaks) < TARGET_WORKER_MB,
                    note=f"each worker {', '.join(f'{p:.0f}' for p in peaks)} MB (idle peak "
                    f"{idle:.0f}{'' if reset else '; peak since start'}); answers "
                    f"{dict(sorted(answers.items()))}",
                )
            )  # fmt: skip
    return figures


def _reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current size (Linux: ``5`` to /proc/PID/clear_refs), so
    that each flood is measured on its own; False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """The ``python -m bench`` entry point."""
    folder = Path(os.environ[WORKSPACE_ENV])
    figures = [
        latency_under_attack(folder, "limits opened", 45.0, **OPENED),
        latency_under_attack(folder, "default limits", 20.0),
    ]
    figures += memory_under_oversized_bodies(folder, max(10.0, duration * 2.0))
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run standalone and print the figures."""

    def in_workspace(folder: Path) -> list[Figure]:
        os.environ[WORKSPACE_ENV] = str(folder)
        return run()

    return standalone("hub_abuse", "feedsvc-hub-abuse-", in_workspace)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
