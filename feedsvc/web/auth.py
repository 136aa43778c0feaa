"""Bearer-token authentication of the ingest API (RFC 6750 §2.1: the Authorization header only).

Nothing here ever logs or echoes a credential: messages describe what was wrong with it, never
what it was.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

REALM = "feedsvc"
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
# (explicit ASCII ranges: a latin-1-decoded non-ASCII byte never matches).
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
# RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
_CREDENTIALS = re.compile(r"(?P<scheme>[^ ]+)(?: +(?P<token>.*))?", re.DOTALL)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_HOW = "send it as 'Authorization: Bearer TOKEN'"
# Query parameter names that carry tokens by convention (RFC 6750 §2.3 uses access_token).
_TOKEN_PARAMETERS = frozenset({"access_token", "token", "api_key", "apikey", "key", "auth"})


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was not authenticated, and the WWW-Authenticate challenge to send."""

    reason: str  # a short word for the log line: never anything taken from the request
    message: str
    challenge: str


def challenge(error: str | None = None) -> str:
    """The WWW-Authenticate value; ``error`` only when bearer credentials were presented.

    RFC 6750 §3: a request without credentials (or with another scheme) gets no error code;
    a token that is malformed or not accepted gets ``error="invalid_token"`` (§3.1).
    """
    value = f'Bearer realm="{REALM}"'
    return f'{value}, error="{error}"' if error else value


def authenticate(header: str | None, tokens: Sequence[str]) -> AuthFailure | None:
    """None when the Authorization header carries one of ``tokens``; otherwise why not."""
    if not tokens:
        return AuthFailure(
            "no tokens configured",
            "the ingest API is disabled: no API tokens are configured; set FEEDSVC_API_TOKENS "
            "to a comma-separated list of tokens and restart",
            challenge(),
        )
    match = _CREDENTIALS.fullmatch((header or "").strip(" \t"))
    if match is None:
        return AuthFailure(
            "missing", f"missing credentials: this API needs a bearer token; {_HOW}", challenge()
        )
    if match["scheme"].lower() != "bearer":  # RFC 9110 §11.1: schemes are case-insensitive
        return AuthFailure(
            "other scheme",
            f"unsupported authentication scheme: only bearer tokens are accepted; {_HOW}",
            challenge(),
        )
    token = (match["token"] or "").strip(" \t")
    if not token:
        return AuthFailure("empty", f"'Bearer' without a token; {_HOW}", challenge())
    if not _B64TOKEN.fullmatch(token):
        return AuthFailure(
            "malformed",
            "malformed bearer token: a token is ASCII letters, digits and -._~+/ with optional "
            "trailing '=' (RFC 6750 §2.1)",
            challenge("invalid_token"),
        )
    if not token_matches(token, tokens):
        return AuthFailure(
            "not accepted",
            "the bearer token is not accepted (wrong, or rotated out of FEEDSVC_API_TOKENS)",
            challenge("invalid_token"),
        )
    return None


def token_matches(token: str, tokens: Sequence[str]) -> bool:
    """Whether ``token`` is one of ``tokens``, in time independent of which one (or none).

    Each pair is compared as bytes with hmac.compare_digest, over SHA-256 digests so that the
    lengths compared are equal too, and every configured token is compared: no early exit
    tells a caller how close a guess came or which entry matched.
    """
    presented = hashlib.sha256(token.encode("ascii")).digest()
    found = False
    for candidate in tokens:
        expected = hashlib.sha256(candidate.encode("ascii")).digest()
        found |= hmac.compare_digest(presented, expected)
    return found


def misplaced_credentials(query_string: bytes, mimetype: str) -> str | None:
    """Why the request looks like it carries a token outside the Authorization header, or None.

    RFC 6750 §2.2 (form body) and §2.3 (URI query) are not supported: a token in a URL ends up
    in proxy and server logs and in browser history. Such a token is never read, let alone
    accepted; the caller answers 401 (no usable credentials, §3) or, when an Authorization
    header came too, 400 (more than one way of sending a token, §3.1 invalid_request).
    """
    if query_string:
        names = {name.lower() for name, _ in parse_qsl(query_string.decode("latin-1"), True)}
        if names & _TOKEN_PARAMETERS:
            return (
                "a token in the URL is refused (URLs end up in logs): send it only in the "
                "Authorization header ('Authorization: Bearer TOKEN'), and rotate the token you "
                "just sent"
            )
    if mimetype in _FORM_TYPES:
        return (
            "form-encoded bodies are refused (RFC 6750 §2.2 is not supported): send the record "
            "as JSON with 'Content-Type: application/json', and the token only in the "
            "Authorization header"
        )
    return None
