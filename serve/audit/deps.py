"""Who is auditing: API keys in headers (scripts) or in the UI's session cookie (browsers), and
the audit service on the app's state.

The browser flow: an analyst pastes their key once on the login page and gets a server-side
session: the cookie holds a random token (never the key), in an HttpOnly, SameSite=Strict cookie
(Secure over HTTPS), which scripts in the page cannot read and other sites cannot make the browser
send. The session ends at logout (revoked in the database), after ``COOKIE_MAX_AGE``, or with its
key. Only analyst keys sign in to the UI. Because a cookie is sent automatically, a request
authenticated by the cookie that changes something must also come from this site: its Origin
(or, failing that, Referer) header must name this host. Header-authenticated requests need no
such check: a browser never adds an X-API-Key header to a cross-site request on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import Request

from dispo.errors import ForbiddenError, UnauthorizedError
from serve.audit.service import AuditService
from serve.audit.store import AuditStore
from serve.deps import api_key_header, authenticate, bearer, charge, check_role, get_limiter, get_store
from serve.ratelimit import RateLimiter
from serve.store import Principal, Store

COOKIE = "dispo_session"
COOKIE_MAX_AGE = 12 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
AUDIT_ROLES = ("analyst", "admin")  # admins may read the queue and reports; only analysts decide
UI_ROLE = "analyst"  # the one role that signs in to the UI


def session_principal(token: str, store: Store, limiter: RateLimiter) -> Principal:
    """The caller behind a UI session cookie, counted against its key's rate like a request."""
    caller = store.ui_session_principal(token)
    if caller is None:
        raise UnauthorizedError("the session has ended (signed out, expired or its key revoked): sign in again")
    return charge(caller, limiter)


def get_audit(request: Request) -> AuditService:
    """The app's audit service, created on first use over the service's database engine."""
    service: AuditService | None = getattr(request.app.state, "audit", None)
    if service is None:
        store: Store = request.app.state.store
        service = AuditService(AuditStore(store.engine))
        request.app.state.audit = service
    return service


AuditDep = Annotated[AuditService, Depends(get_audit)]
ItemId = Annotated[str, Path(min_length=1, max_length=64, description="the audit item's id")]


def same_origin(request: Request) -> bool:
    """True when the request's Origin (or Referer) header names the host it was sent to."""
    host = request.headers.get("host", "")
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null" or not host:
        return False
    return urlsplit(source).netloc.lower() == host.lower()


def cookie_or_header_principal(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
    key: Annotated[str | None, Depends(api_key_header)] = None,
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    secret = key or (token.credentials if token else None)
    if secret is None and request.cookies.get(COOKIE):
        if request.method not in SAFE_METHODS and not same_origin(request):
            raise ForbiddenError("cross-site request refused: a cookie-authenticated change must come from this site")
        return session_principal(request.cookies[COOKIE], store, limiter)
    return authenticate(secret, store, limiter)


def require_audit(*roles: str) -> Callable[[Principal], Principal]:
    """Like :func:`serve.deps.require`, but the UI's cookie is accepted too."""

    def check(caller: Annotated[Principal, Depends(cookie_or_header_principal)]) -> Principal:
        return check_role(caller, roles)

    return check
