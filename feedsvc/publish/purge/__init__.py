"""Purging the caches in front after each regeneration, so readers get a new version at once.

One small interface, :class:`PurgeTarget` (``purge(feeds)``: every variant of those feeds, and
the pages built from the categories), and one adapter per cache: the shipped nginx site
(:mod:`.nginx`, each entry refreshed in place by a request it trusts), the shipped Varnish
(:mod:`.varnish`, surrogate keys with xkey), Fastly (:mod:`.fastly`) and Cloudflare
(:mod:`.cloudflare`), both by surrogate key through their APIs. :class:`CachePurger`
(:mod:`.purger`) runs them off the regeneration path, retries with backoff and logs; the
built-in hub's deliveries wait for it (:mod:`feedsvc.websub.gate`).
"""

from __future__ import annotations

from feedsvc.config import Settings
from feedsvc.publish.purge.base import PurgeError, PurgeTarget
from feedsvc.publish.purge.cloudflare import CloudflarePurge
from feedsvc.publish.purge.fastly import FastlyPurge
from feedsvc.publish.purge.nginx import NginxPurge
from feedsvc.publish.purge.purger import CachePurger
from feedsvc.publish.purge.varnish import VarnishPurge


def build_targets(settings: Settings) -> list[PurgeTarget]:
    """The caches the settings name, in the order they are purged."""
    timeout = settings.purge_timeout_seconds
    targets: list[PurgeTarget] = []
    if settings.purge_nginx:
        targets.append(NginxPurge(settings.purge_nginx, timeout, settings.base_url))
    if settings.purge_varnish:
        targets.append(VarnishPurge(settings.purge_varnish, timeout))
    if settings.purge_fastly_service and settings.purge_fastly_token:
        targets.append(
            FastlyPurge(
                settings.purge_fastly_service,
                settings.purge_fastly_token,
                timeout,
                soft=settings.purge_fastly_soft,
            )
        )
    if settings.purge_cloudflare_zone and settings.purge_cloudflare_token:
        targets.append(
            CloudflarePurge(
                settings.purge_cloudflare_zone, settings.purge_cloudflare_token, timeout
            )
        )
    return targets


def build(settings: Settings) -> CachePurger | None:
    """The purger of the caches the settings name, or None when they name none."""
    targets = build_targets(settings)
    return CachePurger(targets, settings.purge_give_up_seconds) if targets else None


__all__ = [
    "CachePurger",
    "CloudflarePurge",
    "FastlyPurge",
    "NginxPurge",
    "PurgeError",
    "PurgeTarget",
    "VarnishPurge",
    "build",
    "build_targets",
]
