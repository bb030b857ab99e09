"""`massagectl completion`: the shell hook for tab completion of commands, options and names.

Completion is argcomplete's: the shell calls massagectl itself with the line typed so far, so
the completions always match the installed version (new commands, built-in routine names)."""

from __future__ import annotations

import argparse

import argcomplete

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "completion", help="print the shell hook for tab completion",
        description="Print the hook that makes the shell complete massagectl's commands, "
        "options and routine names. Bash: add `eval \"$(massagectl completion)\"` to "
        "~/.bashrc; zsh: `eval \"$(massagectl completion zsh)\"` in ~/.zshrc; fish: "
        "`massagectl completion fish | source` in ~/.config/fish/config.fish.")
    parser.add_argument("shell", nargs="?", default="bash", choices=SHELLS,
                        help="the shell (default: bash)")
    parser.set_defaults(handler=print_hook)


def print_hook(args: argparse.Namespace) -> int:
    print(argcomplete.shellcode(["massagectl"], shell=args.shell), end="")
    return 0
