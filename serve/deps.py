"""FastAPI dependencies: the app's state and who is calling. Tests override these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, WebSocket
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from dispo.errors import ForbiddenError, RateLimitedError, UnauthorizedError
from serve.errors import NotReadyError
from serve.inference import InferenceService
from serve.ratelimit import RateLimiter
from serve.settings import Settings
from serve.store import Principal, Store

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key (dsp_...)")
bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")


def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def get_store(connection: HTTPConnection) -> Store:
    store: Store = connection.app.state.store
    return store


def get_inference(connection: HTTPConnection) -> InferenceService:
    inference: InferenceService | None = getattr(connection.app.state, "inference", None)
    if inference is None:
        raise NotReadyError("the model is not loaded")
    return inference


#: Route parameters for the service's store and model (FastAPI's ``Annotated`` dependencies).
StoreDep = Annotated[Store, Depends(get_store)]
InferenceDep = Annotated[InferenceService, Depends(get_inference)]


def get_limiter(connection: HTTPConnection) -> RateLimiter:
    limiter: RateLimiter = connection.app.state.limiter
    return limiter


def authenticate(secret: str | None, store: Store, limiter: RateLimiter) -> Principal:
    if not secret:
        raise UnauthorizedError("missing API key: send it as 'X-API-Key: dsp_...' or 'Authorization: Bearer dsp_...'")
    principal = store.authenticate(secret)
    if principal is None:
        raise UnauthorizedError("unknown or revoked API key")
    return charge(principal, limiter)


def charge(principal: Principal, limiter: RateLimiter) -> Principal:
    """Count one request of ``principal`` against its key's rate: the caller, or RateLimitedError."""
    wait = limiter.acquire(principal.key_id)
    if wait > 0:
        raise RateLimitedError(wait)
    return principal


def principal(
    store: Annotated[Store, Depends(get_store)],
    limiter: Annotated[RateLimiter, Depends(get_limiter)],
    key: Annotated[str | None, Depends(api_key_header)] = None,
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    return authenticate(key or (token.credentials if token else None), store, limiter)


def check_role(caller: Principal, roles: tuple[str, ...]) -> Principal:
    """``caller`` if its key has one of ``roles``, else ForbiddenError."""
    if caller.role not in roles:
        raise ForbiddenError(f"a {caller.role!r} key may not do this; it needs one of: {', '.join(roles)}")
    return caller


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only keys with one of ``roles``."""

    def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        return check_role(caller, roles)

    return check


def websocket_secret(websocket: WebSocket) -> str | None:
    """The API key a WebSocket sent, in the same headers as HTTP (agent desktops set them)."""
    secret = websocket.headers.get("x-api-key")
    authorization = websocket.headers.get("authorization", "")
    if not secret and authorization.lower().startswith("bearer "):
        secret = authorization[7:].strip()
    return secret


def websocket_principal(websocket: WebSocket) -> Principal:
    """The caller of a WebSocket (:func:`websocket_secret`)."""
    return authenticate(websocket_secret(websocket), get_store(websocket), get_limiter(websocket))
