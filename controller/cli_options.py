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


def add_board_device(parser: argparse.ArgumentParser) -> None:
    """`--device`: the profile a connected board must match (its handshake is checked)."""
    parser.add_argument("--device", default=None, metavar="chair|pad|PATH",
                        help="profile the board must match (default: the config's, else chair)")


def add_service_options(parser: argparse.ArgumentParser) -> None:
    """What `serve` and `remote` both take: the device, the body scan, the owner's folders."""
    parser.add_argument("--device", default=None, metavar="chair|pad|PATH",
                        help="device profile (default: the config's)")
    parser.add_argument("--no-scan", dest="body_scan", action="store_false", default=None,
                        help="skip the body scan before each session")
    parser.add_argument("--routines", type=Path, default=None, metavar="DIR",
                        help="the owner's routine folder (default: routines/ in the log folder)")
    parser.add_argument("--users", type=Path, default=None, metavar="DIR",
                        help="the owner's user profiles (default: users/ in the log folder)")
    add_config(parser)


def service_options_of(args: argparse.Namespace, port: str | None):
    """The chair service's options from `add_service_options`' arguments."""
    from massagectl.controller.service.core import ServiceOptions
    from massagectl.routines.device import load_device

    return ServiceOptions(
        config=config_of(args), port=port, body_scan=args.body_scan,
        device=load_device(args.device) if args.device else None,
        routine_folder=args.routines, user_folder=args.users,
    )


def complete_routine(prefix: str, **_: object) -> list[str]:
    """Tab completion for ROUTINE: the built-in names, and .toml files and folders."""
    from argcomplete.completers import FilesCompleter

    from massagectl.routines.library import builtin_routine_names

    names = [name for name in builtin_routine_names() if name.startswith(prefix)]
    return names + list(FilesCompleter(("toml",))(prefix))


def add_routine_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    action = parser.add_argument("routine", metavar="ROUTINE", help=help_text)
    # argcomplete reads this attribute of the action; argparse's stub does not declare it.
    action.completer = complete_routine  # type: ignore[attr-defined]
