"""Regeneration at 10k and 100k stored articles (and 1M with ``--full``), 100 categories.

Per archive: a full regeneration of every feed from nothing (no stored snapshot: every item is
rendered; the three feed formats with gzip, the HTML page left out as the target counts them), a
forced full regeneration with the HTML pages (items reused), a sweep with nothing changed, and
one changed category (one article published in one category: its feed and ``all``). The changed
category is compared with the smallest archive's figure.
"""

from __future__ import annotations

from typing import Any

from bench import (
    Figure,
    anchor,
    bench_app,
    copy_database,
    median,
    newsroom_database,
    sqlite_url,
)

SIZES = (10_000, 100_000)
FULL_SIZES = (1_000_000,)
CATEGORY = "chuyen-muc-05"
REPEATS = 5
FULL_TARGET_S = 2.0
SWEEP_TARGET_MS = 20.0
CHANGED_RATIO_TARGET = 1.5


def run(duration: int = 5, full: bool = False) -> list[Figure]:
    """Every regeneration figure for each archive size."""
    figures: list[Figure] = []
    changed: dict[int, float] = {}
    for size in SIZES + (FULL_SIZES if full else ()):
        figures += _archive(size, changed)
    base = changed[SIZES[0]]
    for size, seconds in changed.items():
        if size != SIZES[0]:
            ratio = seconds / base
            figures.append(
                Figure(
                    "regeneration", f"one changed category, {size:,} vs {SIZES[0]:,}",
                    seconds * 1000, "ms", base * 1000, f"{SIZES[0]:,} articles",
                    f"<= {CHANGED_RATIO_TARGET} x", ratio <= CHANGED_RATIO_TARGET,
                )
            )  # fmt: skip
    return figures


def _archive(size: int, changed: dict[int, float]) -> list[Figure]:
    from feedsvc import services_of

    source = newsroom_database(size)
    if size in FULL_SIZES:
        db = source  # several GB, used by nothing else: written in place, removed below
    else:
        db = copy_database(source, f"regeneration-{size}.sqlite")
    app = bench_app(sqlite_url(db))
    services = services_of(app)
    regenerator = services.regenerator
    label = f"{size:,} articles"
    alone = _cold_run(regenerator)  # in this process only, as before the render process
    _forget_snapshots(services)
    # As the scheduler does when it starts, long before its first run: start the render process.
    regenerator.start_pool()
    if not regenerator.pool.ping():
        raise RuntimeError("the render process did not start")
    cold = _cold_run(regenerator)
    forced = regenerator.run(force=True)
    sweeps = [regenerator.run().seconds for _ in range(REPEATS)]
    one = [_one_changed(app, services, i) for i in range(REPEATS)]
    changed[size] = median(one)
    services.shutdown()
    db.unlink()
    return [
        Figure(
            "regeneration", f"full, 100 categories x 3 formats, {label}", cold.seconds, "s",
            alone.seconds, "one process", f"<= {FULL_TARGET_S:g} s", cold.seconds <= FULL_TARGET_S,
            note="nothing stored before: every item rendered, gzip included",
        ),
        Figure(
            "regeneration", f"full forced, + HTML pages, {label}", forced.seconds, "s",
            note="every feed re-rendered over stored snapshots: items reused",
        ),
        Figure(
            "regeneration", f"sweep with nothing changed, {label}", median(sweeps) * 1000, "ms",
            target=f"<= {SWEEP_TARGET_MS:g} ms", ok=median(sweeps) * 1000 <= SWEEP_TARGET_MS,
            note=f"median of {REPEATS}",
        ),
        Figure(
            "regeneration", f"one changed category, {label}", changed[size] * 1000, "ms",
            note=f"median of {REPEATS}; its feed and all, 4 formats each",
        ),
    ]  # fmt: skip


def _cold_run(regenerator: Any) -> Any:
    """A full regeneration with nothing stored: the three feed formats (the target counts them)."""
    from feedsvc import render

    pages = dict(render.PAGES)
    try:
        render.PAGES.clear()
        run = regenerator.run()
    finally:
        render.PAGES.update(pages)
    if not run.ok or len(run.rendered) != 101:
        raise RuntimeError(f"full regeneration rendered {len(run.rendered)} feeds: {run.failed}")
    return run


def _forget_snapshots(services: Any) -> None:
    """Back to nothing stored, so the next run is a cold full regeneration again."""
    with services.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM feed_snapshots")
        conn.exec_driver_sql("UPDATE feed_states SET rendered_seq = -1")
    services.registry.routes.clear()
    services.registry.snapshots.clear()


def _one_changed(app: Any, services: Any, number: int) -> float:
    """Publish one article in CATEGORY (through the ingest path), then time the run."""
    from bench.data import Newsroom
    from feedsvc.ingest.store_records import store_articles

    record = Newsroom(seed=100 + number).article(0, anchor())
    record.update(id=f"bench-changed-{number}", categories=[CATEGORY])
    result = store_articles(services.db, services.settings, services.clock, [record])
    if result.rejected:
        raise RuntimeError(f"bench article rejected: {result.rejected[0].reason}")
    run = services.regenerator.run()
    if sorted(run.rendered) != sorted([CATEGORY, "all"]):
        raise RuntimeError(f"one changed category rendered {run.rendered}")
    return run.seconds
