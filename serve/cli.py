"""``dispo serve``, ``dispo keys`` and ``dispo db``: the service's commands (entry-point plugins)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from serve.roles import ROLES

logger = logging.getLogger(__name__)

DATABASE_HELP = "the service's database: sqlite:///... or postgresql+psycopg://... (env DISPO_DATABASE_URL)"


def database_commands(subcommands: Any, name: str, *, summary: str) -> Any:
    """``dispo NAME [--database-url URL] ACTION ...``: a group of commands on the service's database;
    returns the group's subparsers, one per action."""
    group = subcommands.add_parser(name, help=summary)
    group.add_argument("--database-url", default=None, help=DATABASE_HELP)
    return group.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def register_serve(subcommands: Any) -> None:
    serve = subcommands.add_parser("serve", help="run the HTTP API (settings from DISPO_* environment variables)")
    serve.add_argument("--host", default=None, help="interface to bind (env DISPO_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (env DISPO_PORT, default 8000)")
    serve.add_argument("--model", default=None, help="NAME[:VERSION] to serve (env DISPO_MODEL)")
    serve.add_argument("--models-dir", default=None, help="registry folder (env DISPO_MODELS_DIR)")
    serve.add_argument("--database-url", default=None, help=DATABASE_HELP)
    serve.set_defaults(handler=_serve)


def register_keys(subcommands: Any) -> None:
    actions = database_commands(subcommands, "keys", summary="create, list and revoke API keys")
    create = actions.add_parser("create", help="create a key; the secret is printed once, on stdout")
    create.add_argument("--tenant", required=True, help="tenant id (lowercase letters, digits, - and _)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.set_defaults(handler=_keys_create)
    listing = actions.add_parser("list", help="a tenant's keys (never their secrets)")
    listing.add_argument("--tenant", required=True)
    listing.set_defaults(handler=_keys_list)
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_keys_revoke)


def register_db(subcommands: Any) -> None:
    actions = database_commands(subcommands, "db", summary="the service's database")
    upgrade = actions.add_parser("upgrade", help="apply migrations (the service also does this at start)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_db_upgrade)


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from serve.settings import Settings

    return Settings.from_env(database_url=getattr(args, "database_url", None), **extra)


def _store(args: argparse.Namespace) -> Any:
    from serve.db import make_engine, upgrade
    from serve.store import Store

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return Store(engine, settings.key_pepper)


def _serve(args: argparse.Namespace) -> int:
    from dispo.model.bundle import resolve

    settings = _settings(args, host=args.host, port=args.port, model=args.model, models_dir=args.models_dir,
                         log_level=getattr(args, "log_level", None))  # fmt: skip
    # The app loads the model as it starts, where a wrong name would end in uvicorn's traceback.
    bundle = resolve(settings.model, settings.models_root)

    import uvicorn

    from serve.app import create_app

    logger.info("dispo serving %s (%s) on http://%s:%d (docs at /docs)", settings.model, bundle, settings.host,
                settings.port)  # fmt: skip
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    new = _store(args).create_key(args.tenant, args.role, args.name)
    logger.info("created %s key %s for tenant %s; store the secret now, it is not shown again", args.role,
                new.principal.key_id, args.tenant)  # fmt: skip
    sys.stdout.write(new.secret + "\n")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    for key in _store(args).list_keys(args.tenant):
        sys.stdout.write(json.dumps(key, default=str) + "\n")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    _store(args).revoke_key(args.tenant, args.key_id)
    logger.info("revoked key %s", args.key_id)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from serve.db import make_engine, upgrade

    upgrade(make_engine(_settings(args).database_url), args.revision)
    return 0
