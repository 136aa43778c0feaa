"""Who reads the feeds: requests recorded cheaply on the hot path (or read from the cache's
access log), aggregated off the request path per feed and day (aggregators' subscriber figures,
distinct direct clients, reader families, revalidation), and the polite-polling rule.

Below ``web/``: the hot path calls :class:`feedsvc.stats.hits.HitRecorder` and
:class:`feedsvc.stats.polling.PollGuard`; the editors' page reads :mod:`feedsvc.stats.report`.
"""
