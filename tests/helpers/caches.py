"""The shipped caches, run for real in front of a feedsvc: nginx with the committed site
(deploy/nginx/feedsvc.conf) and Varnish with the committed VCL (deploy/varnish/feedsvc.vcl),
their placeholders filled in as deploy/README.md says, every path under a directory of ours."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from bench.deployed import main_config, render_site, render_stats, render_vcl, write_site

from tests.helpers.servers import started, wait_for

NGINX = "/usr/sbin/nginx"
VARNISHD = "/usr/sbin/varnishd"
XKEY_VMOD = Path("/usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so")

NGINX_MISSING = "nginx is missing: apt-get install nginx (deploy/debian-packages.txt)"
VARNISH_MISSING = (
    "Varnish or its xkey vmod is missing: apt-get install varnish varnish-modules "
    "(deploy/debian-packages.txt)"
)


def have_nginx() -> bool:
    return Path(NGINX).exists()


def have_varnish() -> bool:
    return Path(VARNISHD).exists() and XKEY_VMOD.exists()


@contextmanager
def nginx(
    upstream_base: str,
    port: int,
    prefix: Path,
    stats_conf_edit: Callable[[str], str] | None = None,
) -> Iterator[str]:
    """The shipped nginx site on 127.0.0.1:``port`` in front of ``upstream_base``; yields its
    base URL (ready once /healthz answers through it). Its access log is ``prefix``/access.log,
    the JSON log of feedsvc-stats.conf ``prefix``/feedsvc.json.log; ``stats_conf_edit`` (the
    file's text in, the text to use out) changes that file before nginx starts."""
    prefix.mkdir(parents=True, exist_ok=True)
    site = write_site(prefix, urlsplit(upstream_base).netloc, f"127.0.0.1:{port}")
    if stats_conf_edit is not None:
        stats_conf = prefix / "feedsvc-stats.conf"
        stats_conf.write_text(stats_conf_edit(stats_conf.read_text()))
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site))
    cmd = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*cmd, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    with started(cmd, {}, prefix / "nginx.out"):
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", timeout=30, ok=(200, 503))
        yield base


@contextmanager
def varnish(upstream_base: str, port: int, workdir: Path) -> Iterator[str]:
    """varnishd (its own process, in the foreground, no jail, no management port) with the
    shipped VCL on 127.0.0.1:``port`` in front of ``upstream_base``; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "feedsvc.vcl"
    vcl.write_text(render_vcl(urlsplit(upstream_base).netloc))
    cmd = [
        VARNISHD, "-F", "-j", "none", "-n", str(workdir / "n"), "-T", "none",
        "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-s", "malloc,64m",
        "-p", "http_gzip_support=off",
    ]  # fmt: skip
    with started(cmd, {}, workdir / "varnishd.out"):
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", timeout=30, ok=(200, 503))
        yield base


__all__ = [
    "main_config",
    "nginx",
    "render_site",
    "render_stats",
    "render_vcl",
    "varnish",
    "write_site",
]
