"""Command-line options shared by several `massagectl` commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from massagectl.controller.config import Config, load_config


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, metavar="PATH",
        help="config file (default: $MASSAGECTL_CONFIG, else ~/.config/massagectl/config.toml; "
        "none is needed)",
    )


def config_of(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def speed(text: str) -> float | None:
    """`--speed N` (times real time) or `--speed max` (skip idle time)."""
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'max'") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError("the speed must be above 0 and at most 10000")
    return value


def complete_routine(prefix: str, **_: object) -> list[str]:
    """Tab completion for ROUTINE: the built-in names, and .toml files and folders."""
    from argcomplete.completers import FilesCompleter

    from massagectl.routines.library import builtin_routine_names

    names = [name for name in builtin_routine_names() if name.startswith(prefix)]
    return names + list(FilesCompleter(("toml",))(prefix))


def add_routine_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    action = parser.add_argument("routine", metavar="ROUTINE", help=help_text)
    action.completer = complete_routine  # type: ignore[attr-defined]
