"""The shipped Varnish (deploy/varnish/feedsvc.vcl): one ``PURGE`` naming surrogate keys.

Every object Varnish stored from feedsvc is indexed by the keys of its ``xkey`` header (the xkey
vmod of Debian's varnish-modules), whatever its URL, query or encoding; ``PURGE /`` with an
``xkey-purge`` header drops every object under those keys, and the VCL takes it only from its
``purgers`` ACL (this machine).
"""

from __future__ import annotations

from collections.abc import Sequence

from feedsvc.publish.purge.base import Endpoint, PurgeError, excerpt, purge_keys, status_error


class VarnishPurge:
    """Purges by surrogate key through the shipped VCL."""

    name = "varnish"

    def __init__(self, url: str, timeout: float) -> None:
        self.endpoint = Endpoint(url, timeout)

    def close(self) -> None:
        """Close the kept connection."""
        self.endpoint.close()

    def purge(self, feeds: Sequence[str]) -> None:
        """One request for every key of ``feeds`` and the category pages."""
        headers = {"xkey-purge": " ".join(purge_keys(feeds))}
        status, _, body = self.endpoint.send("PURGE", "/", headers)
        if status == 200:
            return
        if status == 403:
            raise PurgeError(
                "Varnish refused the PURGE (403): add the address feedsvc connects from to "
                "the VCL's purgers ACL",
                retry=False,
            )
        raise status_error("varnish", status, excerpt(body))
