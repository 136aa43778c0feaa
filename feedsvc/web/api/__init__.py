"""The ingest API (docs/interface.md, "Ingest API"): JSON in and out, bearer tokens.

Every record goes through feedsvc.ingest.store_records, the code path the CLI importer uses, so
the API accepts, rejects and normalises exactly as the CLI does. Each request is one transaction: a
rejected request changes nothing.

Request bodies must be JSON: ``Content-Type: application/json`` (or ``application/*+json``), or
no Content-Type at all (then the body is read as JSON); any other type gets ``415``, and a form
type ``400`` (a form may carry a token, RFC 6750 §2.2, which is refused).

Only the list of articles takes query parameters; the OpenAPI document of the API
(feedsvc/web/openapi.py) is the one call that needs no token.

The modules: ``base`` (blueprint, error type, reading the body), ``guard`` (credentials, routing
and the error handlers), ``categories``, ``articles``.
"""

from __future__ import annotations

from feedsvc.web.api.base import bp

# Importing the modules registers their routes and handlers on the blueprint.
from feedsvc.web.api import articles, categories, guard  # noqa: E402,F401  (isort: skip)

__all__ = ["bp"]
