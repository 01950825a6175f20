"""The ``dispo`` command. Subcommand groups are plugins registered under the
``dispo.commands`` entry-point group, so the core never imports ``training`` or ``serve``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points

from dispo import __version__
from dispo.errors import ConfigError, DispoError

logger = logging.getLogger("dispo")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL_ENV = "DISPO_LOG_LEVEL"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dispo",
        description="Contact-disposition classification for contact centers: reason, outcome, sentiment, upsell.",
    )
    parser.add_argument("--version", action="version", version=f"dispo {__version__}")
    add_log_level(parser)
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry_point in sorted(entry_points(group="dispo.commands"), key=lambda ep: ep.name):
        register = entry_point.load()
        register(subcommands)
    return parser


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default=None,
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"logging verbosity: {', '.join(LOG_LEVELS)}, in any case (env {LOG_LEVEL_ENV}, default INFO)",
    )


def log_level(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The level of ``--log-level`` (checked by argparse), else of the environment, else INFO."""
    if flag:
        return flag
    raw = (os.environ if environ is None else environ).get(LOG_LEVEL_ENV, "")
    if raw.strip().upper() in LOG_LEVELS:
        return raw.strip().upper()
    if raw.strip():
        raise ConfigError(f"{LOG_LEVEL_ENV}: expected one of {', '.join(LOG_LEVELS)} (any case), found {raw!r}")
    return "INFO"


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse, set up logging and run the chosen command: its exit status, 2 on a domain error
    (logged as one line naming what and where), 130 when interrupted."""
    args = parser.parse_args(argv)
    try:
        args.log_level = log_level(args.log_level)
    except ConfigError as exc:
        configure_logging("INFO")
        logger.error("%s", exc)
        return 2
    configure_logging(args.log_level)
    try:
        return int(args.handler(args) or 0)
    except DispoError as exc:
        logger.error("%s", exc)
        return 2
    except OSError as exc:  # a path the command cannot read or write: the system says which and why
        logger.error("%s", exc)
        return 2
    except UnicodeDecodeError as exc:  # a reader that expects UTF-8 text (the converters of public sets)
        logger.error("an input is not UTF-8 text (%s); save it as UTF-8", exc)
        return 2
    except KeyboardInterrupt:
        logger.error("interrupted")
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
