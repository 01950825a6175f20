"""Administration: API keys of the caller's tenant, and which model version is served."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from dispo.errors import ForbiddenError
from dispo.model.bundle import list_models, promote
from serve.bodies import JSONBodyRoute
from serve.deps import StoreDep, get_settings, require
from serve.routes.dispositions import ERRORS
from serve.schemas import KeyIn, KeyOut, PromoteIn
from serve.settings import ENV_PREFIX, Settings
from serve.store import Principal

router = APIRouter(prefix="/v1", tags=["admin"], route_class=JSONBodyRoute)
admin = require("admin")


@router.post("/keys", response_model=KeyOut, status_code=201, responses=ERRORS, summary="Create an API key")
async def create_key(body: KeyIn, caller: Annotated[Principal, Depends(admin)], store: StoreDep) -> KeyOut:
    new = await run_in_threadpool(store.create_key, caller.tenant_id, body.role, body.name)
    return KeyOut(id=new.principal.key_id, tenant_id=caller.tenant_id, role=body.role, name=body.name, key=new.secret)


@router.get("/keys", responses=ERRORS, summary="The tenant's API keys (never their secrets)")
async def keys(caller: Annotated[Principal, Depends(admin)], store: StoreDep) -> list[dict[str, Any]]:
    return await run_in_threadpool(store.list_keys, caller.tenant_id)


@router.delete("/keys/{key_id}", status_code=204, responses=ERRORS, summary="Revoke an API key")
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    caller: Annotated[Principal, Depends(admin)],
    store: StoreDep,
) -> None:
    await run_in_threadpool(store.revoke_key, caller.tenant_id, key_id)


@router.get("/models", responses=ERRORS, summary="Models in the registry and the one being served")
async def models(
    request: Request,
    caller: Annotated[Principal, Depends(admin)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
    inference = getattr(request.app.state, "inference", None)
    return {
        "serving": inference.version if inference is not None else None,
        "models": await run_in_threadpool(list_models, settings.models_root),
    }


@router.post("/models/{name}/promote", responses=ERRORS, summary="Promote a version; serving reloads it")
async def promote_model(
    request: Request,
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")],
    body: PromoteIn,
    caller: Annotated[Principal, Depends(admin)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
    if settings.operator_tenant is None or caller.tenant_id != settings.operator_tenant:
        raise ForbiddenError(
            "promoting a version changes the model of every tenant: only admin keys of the operator tenant "
            f"({ENV_PREFIX}OPERATOR_TENANT) may do it, or `dispo models promote` on the server"
        )
    await run_in_threadpool(promote, name, body.version, settings.models_root)
    reloaded = False
    if settings.model.split(":", 1)[0] == name and ":" not in settings.model:
        await request.app.state.reload_model()
        reloaded = True
    return {"name": name, "promoted": body.version, "reloaded": reloaded}
