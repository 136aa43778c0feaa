"""The shipped caches as an operator installs them (deploy/README.md): the nginx site and the
Varnish VCL with their placeholders filled in, and a main nginx.conf that keeps every path under
one folder. Shared by bench/cache.py and the system tests (tests/helpers/caches.py)."""

from __future__ import annotations

import os
import pwd
import re
from pathlib import Path

from bench import REPO

SITE = REPO / "deploy" / "nginx" / "feedsvc.conf"
# The http-context file installed next to the site (its polite-polling zone, the JSON log).
STATS_SITE = REPO / "deploy" / "nginx" / "feedsvc-stats.conf"
VCL = REPO / "deploy" / "varnish" / "feedsvc.vcl"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def fill(template: Path, values: dict[str, str]) -> str:
    """A committed config with its placeholders filled in; fails on one left over."""
    text = template.read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.findall(text)
    if left:
        raise AssertionError(f"placeholders not filled in: {left}")
    return text


def render_site(upstream: str, listen: str, cache_dir: Path) -> str:
    """The committed nginx site with its placeholders filled in (deploy/README.md)."""
    values = {
        "@UPSTREAM@": upstream,
        "@LISTEN@": listen,
        "@SERVER_NAME@": "rss.bienphong.example",
        "@CACHE_DIR@": str(cache_dir),
    }
    return fill(SITE, values)


def render_stats(stats_log: Path) -> str:
    """The committed feedsvc-stats.conf with its placeholder filled in (deploy/README.md)."""
    return fill(STATS_SITE, {"@STATS_LOG@": str(stats_log)})


def write_site(prefix: Path, upstream: str, listen: str) -> Path:
    """Both committed nginx files, filled in, in ``prefix`` (cache and JSON log under it too);
    the site's path, for :func:`main_config`."""
    site = prefix / "feedsvc.conf"
    site.write_text(render_site(upstream, listen, prefix / "cache"))
    (prefix / "feedsvc-stats.conf").write_text(render_stats(prefix / "feedsvc.json.log"))
    return site


def main_config(prefix: Path, site: Path, *, workers: str = "1", access_log: bool = True) -> str:
    """A main nginx.conf that runs unprivileged: every path under ``prefix``; sendfile and
    tcp_nopush on, as in Debian's /etc/nginx/nginx.conf, which the site is included from (with
    feedsvc-stats.conf beside it: :func:`write_site`)."""
    # As root, workers would switch to "nobody", who cannot enter private temporary folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    log = (
        f"""    log_format upstream '$request_method $request_uri $status '
                        'cache=$upstream_cache_status upstream=$upstream_status '
                        'enc=$feedsvc_encoding';
    access_log {prefix / "access.log"} upstream;"""
        if access_log
        else "    access_log off;"
    )
    return f"""
{user}
worker_processes {workers};
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} notice;
daemon off;
events {{ worker_connections 4096; }}
http {{
{log}
    keepalive_requests 1000000;
    sendfile on;
    tcp_nopush on;
{temps}
    include {site.parent / "feedsvc-stats.conf"};
    include {site};
}}
"""


def render_vcl(backend: str) -> str:
    """The committed VCL with its placeholders filled in (deploy/README.md)."""
    host, _, port = backend.rpartition(":")
    return fill(VCL, {"@BACKEND_HOST@": host, "@BACKEND_PORT@": port})
