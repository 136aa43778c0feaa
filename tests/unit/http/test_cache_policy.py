"""What feeds and pages tell shared caches: the interface's ``public, max-age`` first, then the
shared-cache directives the settings ask for; the surrogate keys in each cache's header."""

from __future__ import annotations

import pytest

from feedsvc.config import ConfigError, load_settings
from feedsvc.http.cache_policy import CachePolicy, feed_keys, page_keys


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (CachePolicy(), "public, max-age=60"),
        (CachePolicy(stale_if_error=86400), "public, max-age=60, stale-if-error=86400"),
        (CachePolicy(shared_max_age=0), "public, max-age=60, s-maxage=0"),
        (
            CachePolicy(shared_max_age=1, stale_while_revalidate=10, stale_if_error=60),
            "public, max-age=60, s-maxage=1, stale-while-revalidate=10, stale-if-error=60",
        ),
    ],
)
def test_cache_control(policy: CachePolicy, expected: str) -> None:
    assert policy.cache_control(60) == expected


def test_surrogate_headers_spell_the_keys_as_each_cache_reads_them() -> None:
    policy = CachePolicy(surrogate_headers=("Surrogate-Key", "xkey", "Cache-Tag"))
    assert policy.surrogate(feed_keys("all", "json")) == (
        ("Surrogate-Key", "feedsvc feed.all feed.all.json format.json"),
        ("xkey", "feedsvc feed.all feed.all.json format.json"),
        ("Cache-Tag", "feedsvc,feed.all,feed.all.json,format.json"),
    )
    assert CachePolicy().surrogate(page_keys("index")) == ()


def test_the_settings_make_the_policy() -> None:
    settings = load_settings(
        {
            "FEEDSVC_CACHE_SHARED_MAX_AGE": "1",
            "FEEDSVC_CACHE_STALE_WHILE_REVALIDATE": "5",
            "FEEDSVC_CACHE_STALE_IF_ERROR": "0",
            "FEEDSVC_SURROGATE_KEY_HEADERS": "cache-tag, XKEY, xkey",
        }
    )
    assert settings.cache_policy == CachePolicy(1, 5, 0, ("Cache-Tag", "xkey"))
    assert load_settings({"FEEDSVC_SURROGATE_KEY_HEADERS": ""}).surrogate_key_headers == ()
    # A change re-renders every feed (their stored headers change).
    assert settings.fingerprint() != load_settings({}).fingerprint()


def test_a_cdn_purge_needs_its_id_and_its_token() -> None:
    with pytest.raises(ConfigError, match="^FEEDSVC_PURGE_FASTLY_TOKEN: needs"):
        load_settings({"FEEDSVC_PURGE_FASTLY_TOKEN": "t"})
