"""Print the SHA-256 of every response a reader can fetch, with the clock frozen at one instant.

Two builds that print the same lines serve the same bytes and headers: run it before and after a
change that must not alter behaviour, and compare (``diff``). It drives only the public entry
points (``create_app``, the CLI commands, HTTP paths), so it runs against any version of the code.

    python tools/feed_digests.py > before.txt

Two newsrooms: the demo newsroom (``demo-data``), and a fixed corpus (``tests/data/
render_articles.json``: real-shaped articles, hostile text included) imported through the CLI.
Each is served twice, without and with the built-in WebSub hub (whose links are in every feed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedsvc import create_app  # noqa: E402

INSTANT = datetime(2026, 11, 20, 3, 0, 0, tzinfo=UTC)
CORPUS = ROOT / "tests" / "data" / "render_articles.json"
FORMATS = ("rss", "atom", "json", "html")
LIMITS = ("1", "5", "20")
SKIPPED_HEADERS = {"date"}


class Frozen:
    """A clock stopped at INSTANT (create_app only calls ``now``)."""

    def now(self) -> datetime:
        return INSTANT


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def fetch(client: Any, path: str, gzipped: bool) -> str:
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    response = client.get(path, headers=headers)
    body = response.get_data()
    kept = sorted(
        f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS
    )
    plain = gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body
    return (
        f"{response.status_code} body={digest(body)} text={digest(plain)} "
        f"headers={digest(chr(10).join(kept).encode())}"
    )


def paths(slugs: list[str]) -> Iterator[str]:
    yield "/"
    yield "/feeds.opml"
    for slug in [*slugs, "all"]:
        for fmt in FORMATS:
            yield f"/feeds/{slug}.{fmt}"
        for fmt in ("rss", "atom", "json"):
            for limit in LIMITS:
                yield f"/feeds/{slug}.{fmt}?limit={limit}"


def corpus_files(directory: Path) -> tuple[Path, Path, dict[str, str]]:
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    categories = directory / "categories.jsonl"
    articles = directory / "articles.jsonl"
    categories.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in data["categories"]),
        encoding="utf-8",
    )
    articles.write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in data["articles"]),
        encoding="utf-8",
    )
    site = data["site"]
    settings = {
        "FEEDSVC_SITE_URL": site["site_url"].rstrip("/"),
        "FEEDSVC_SITE_TITLE": site["site_title"],
        "FEEDSVC_TAG_AUTHORITY": site["tag_authority"],
    }
    return categories, articles, settings


def run(name: str, directory: Path, hub: bool, corpus: bool) -> None:
    settings = {
        "FEEDSVC_DATABASE_URL": f"sqlite:///{directory / (name + '.db')}",
        "FEEDSVC_SCHEDULER": "off",
        "FEEDSVC_BASE_URL": "http://feeds.test",
        "FEEDSVC_SITE_URL": "https://bienphong.example",
    }
    if hub:
        settings["FEEDSVC_WEBSUB_HUB"] = "self"
    files = None
    if corpus:
        categories, articles, site = corpus_files(directory)
        settings.update(site)
        files = (categories, articles)
    app = create_app({"TESTING": True, "CLOCK": Frozen(), **settings})
    runner = app.test_cli_runner()
    steps = [["init-db"]]
    if files:
        steps += [["import-categories", str(files[0])], ["import-articles", str(files[1])]]
    else:
        steps.append(["demo-data"])
    steps.append(["regenerate"])
    for args in steps:
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise SystemExit(f"{name}: {' '.join(args)} failed: {result.output}")
    client = app.test_client()
    slugs = sorted(
        line.split("/feeds/")[1].split(".")[0]
        for line in client.get("/feeds.opml").get_data(as_text=True).split('"')
        if "/feeds/" in line and not line.split("/feeds/")[1].startswith("all.")
    )
    for path in paths(sorted(set(slugs))):
        for gzipped in (False, True):
            encoding = "gzip" if gzipped else "identity"
            print(f"{name} {path} {encoding} {fetch(client, path, gzipped)}")
    app.extensions["feedsvc"].shutdown()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run("demo", directory, hub=False, corpus=False)
        run("demo-hub", directory, hub=True, corpus=False)
        run("corpus", directory, hub=False, corpus=True)
        run("corpus-hub", directory, hub=True, corpus=True)


if __name__ == "__main__":
    main()
