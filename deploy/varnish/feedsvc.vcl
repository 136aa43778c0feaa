# feedsvc behind Varnish: a shared cache in front of the web workers, purged by surrogate key.
#
# Debian: /etc/varnish/feedsvc.vcl, run by varnishd with "-f /etc/varnish/feedsvc.vcl
# -p http_gzip_support=off" (feedsvc sends its own gzip bytes and strong ETags; Varnish must
# neither gunzip nor re-compress them). @BACKEND_HOST@ and @BACKEND_PORT@ (FEEDSVC_BIND of the
# web unit) are filled in at install time: deploy/README.md. tests/system/test_varnish.py runs
# this very file in front of `make serve`.
#
# What it does: keeps what feedsvc's Cache-Control allows (s-maxage before max-age; the API,
# /healthz and errors say no-store); one object per feed, limit and encoding; every object
# indexed by the surrogate keys of feedsvc's xkey header, which feedsvc purges after each
# regeneration (FEEDSVC_PURGE_VARNISH); readers that miss together wait for one fetch (Varnish
# always collapses them); the last copy served for up to stale-if-error (a day by default) when
# feedsvc is down; revalidation with feedsvc's ETag; surrogate keys stripped before readers.

vcl 4.1;

import std;
import xkey;

# --- backend -------------------------------------------------------------------------------------

backend feedsvc {
    .host = "@BACKEND_HOST@";
    .port = "@BACKEND_PORT@";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
}

# Who may purge: feedsvc's scheduler on this machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

# --- requests ------------------------------------------------------------------------------------

sub vcl_recv {
    # "PURGE /" with "xkey-purge: feed.thoi-su feed.all …" drops every object under those keys.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "Name the surrogate keys in xkey-purge"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    # The shipped nginx site's refresh header, if nginx is behind this Varnish: never a reader's.
    unset req.http.X-Feedsvc-Refresh;
    # Prometheus scrapes FEEDSVC_METRICS_BIND, never the public site.
    if (req.url ~ "^/metrics(\?|$)") {
        return (synth(404, "Not Found"));
    }
    # The client's address for feedsvc's per-client limits (Varnish appends client.ip to
    # X-Forwarded-For itself; feedsvc reads it from the right, from FEEDSVC_TRUSTED_PROXIES).
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);  # the ingest API: never from, nor into, the cache
    }

    # Accept-Encoding reduced to the two representations feedsvc has: gzip, or identity.
    # Refusals are honoured (RFC 9110 §12.5.3: "gzip;q=0" is a no).
    if (req.http.Accept-Encoding ~ "(?i)(^|,)\s*(x-)?gzip\s*;\s*q=0(\.0*)?\s*(,|$)") {
        unset req.http.Accept-Encoding;
    } elsif (req.http.Accept-Encoding ~ "(?i)(^|,)\s*(x-)?gzip\s*(;|,|$)") {
        set req.http.Accept-Encoding = "gzip";
    } else {
        unset req.http.Accept-Encoding;
    }

    # The query: feedsvc reads only "limit" (on .rss, .atom and .json) and ignores the rest, so
    # the rest is dropped and "?utm_source=x" shares the plain feed's object. A query feedsvc
    # could read differently (a name not in plain lower case, a percent-encoded character,
    # "limit" twice, a field without "=") is passed through uncached.
    if (req.url ~ "\?") {
        if (req.url ~ "[?&]limit=[^&]*&(.*&)?limit="
            || req.url !~ "\?([a-z0-9_.-]+=[^&%]*(&[a-z0-9_.-]+=[^&%]*)*)?$") {
            return (pass);
        }
        if (req.url ~ "^/feeds/[^/?]+\.(rss|atom|json)\?(.*&)?limit=") {
            set req.url = regsub(req.url, "^([^?]*)\?(.*&)?limit=([^&]*).*$", "\1?limit=\3");
        } else {
            set req.url = regsub(req.url, "\?.*$", "");
        }
    }
    return (hash);
}

sub vcl_hash {
    # One site: the URL and the encoding make the key.
    hash_data(req.url);
    if (req.http.Accept-Encoding) {
        hash_data(req.http.Accept-Encoding);
    }
    return (lookup);
}

# --- responses from feedsvc ----------------------------------------------------------------------

sub vcl_backend_response {
    # A background refresh that fails keeps the copy Varnish has (stale-if-error).
    if (beresp.status >= 500 && bereq.is_bgfetch) {
        return (abandon);
    }
    # Varnish reads s-maxage/max-age and stale-while-revalidate itself; stale-if-error sets
    # how long a copy may still be served (grace) while feedsvc cannot be reached.
    if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(
            regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1") + "s", 0s);
    }
    # Keep expired copies a day longer to revalidate them with feedsvc's ETag (a 304).
    set beresp.keep = 1d;
    # Varnish's built-in rules follow: no-store (the API, /healthz, every error) is never kept.
}

sub vcl_backend_error {
    # A background refresh that cannot reach feedsvc keeps the copy Varnish has.
    if (bereq.is_bgfetch) {
        return (abandon);
    }
    # feedsvc down and nothing to serve: an error no cache may keep, with a hint when to retry.
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Cache-Control = "no-store";
    set beresp.http.Retry-After = "5";
    set beresp.status = 503;
    set beresp.ttl = 0s;
    synthetic("feedsvc is unavailable; retry in a few seconds" + {"
"});
    return (deliver);
}

# --- responses to readers ------------------------------------------------------------------------

sub vcl_deliver {
    # Surrogate keys are for caches, not readers.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}

sub vcl_synth {
    set resp.http.Cache-Control = "no-store";
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    if (resp.status == 503) {
        set resp.http.Retry-After = "5";
    }
    synthetic(resp.reason + {"
"});
    return (deliver);
}
