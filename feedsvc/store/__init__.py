"""Every query of feedsvc. Functions take a Session; "not found" is None; no Flask imports.

One module per concern (as miniflux's ``internal/storage``); callers use ``store.NAME``.
"""

from feedsvc.store._common import ALL, CHUNK, dialect_insert
from feedsvc.store.articles import (
    article_version,
    articles_page,
    count_articles,
    count_category_articles,
    delete_article,
    every_article,
    get_article,
    record_hash,
    upsert_articles,
)
from feedsvc.store.categories import (
    category_deleted_at,
    category_slugs,
    delete_category,
    get_category,
    list_categories,
    upsert_category,
)
from feedsvc.store.feeds import dirty_feeds, feed_keys, mark_feeds_changed, mark_rendered
from feedsvc.store.instances import (
    forget_instance,
    forget_instances_before,
    live_instances,
    report_instance,
)
from feedsvc.store.leases import acquire_lease, check_connection, release_lease
from feedsvc.store.meta import bump_counter, get_meta, read_counter, set_meta
from feedsvc.store.reading import (
    ArticleRow,
    LinkRow,
    embargo_lifted,
    next_embargo,
    visible_article_rows,
)
from feedsvc.store.snapshots import (
    SnapshotHead,
    get_snapshot,
    save_snapshot,
    snapshot_bundle,
    snapshot_bundles,
    snapshot_head,
    snapshot_versions,
)
from feedsvc.store.stats import (
    ClientCounts,
    ClientDayRow,
    FeedDayRow,
    add_client_days,
    add_feed_day,
    client_days,
    feed_days,
    prune_stats,
    stats_salt,
)

__all__ = [
    "ALL",
    "CHUNK",
    "ArticleRow",
    "ClientCounts",
    "ClientDayRow",
    "FeedDayRow",
    "LinkRow",
    "SnapshotHead",
    "acquire_lease",
    "add_client_days",
    "add_feed_day",
    "article_version",
    "articles_page",
    "bump_counter",
    "category_deleted_at",
    "category_slugs",
    "check_connection",
    "client_days",
    "count_articles",
    "every_article",
    "count_category_articles",
    "delete_article",
    "dialect_insert",
    "delete_category",
    "dirty_feeds",
    "embargo_lifted",
    "feed_days",
    "feed_keys",
    "forget_instance",
    "forget_instances_before",
    "get_article",
    "get_category",
    "get_meta",
    "get_snapshot",
    "list_categories",
    "live_instances",
    "mark_feeds_changed",
    "mark_rendered",
    "next_embargo",
    "prune_stats",
    "read_counter",
    "record_hash",
    "release_lease",
    "report_instance",
    "save_snapshot",
    "set_meta",
    "snapshot_bundle",
    "snapshot_bundles",
    "snapshot_head",
    "snapshot_versions",
    "stats_salt",
    "upsert_articles",
    "upsert_category",
    "visible_article_rows",
]
