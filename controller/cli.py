"""The `massagectl` command line: one subcommand per module in controller/commands/."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import pkgutil
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import TextIO

import argcomplete

from massagectl.controller import commands
from massagectl.routines.errors import MassageError

EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found a problem (invalid file, fault, refusal)
EXIT_USAGE = 2  # the command line itself was wrong (argparse uses 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C before anything had started (128 + SIGINT, as shells report)
EXIT_CODES_HELP = """exit status:
  0    done (run: the routine finished)
  1    a problem: an invalid file, a refusal, a fault, an error
  2    the command line was wrong (usage)
  3    run only: stopped early by a person or the session timer, no fault
  130  interrupted with Ctrl-C before anything had started"""


class ReaderMayLeave:
    """Standard output whose reader may stop reading early (`massagectl run ... | head -1`).

    The command goes on (a session still ends safe and is logged) and its exit status says how
    it ended, not that the pipe closed: output after that point is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self.gone = True
        # The interpreter flushes standard output once more at exit; into /dev/null that last
        # flush succeeds instead of printing "Exception ignored ... BrokenPipeError".
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="massagectl",
        description="Run massage routines on a chair, a pad or the built-in simulator.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="also print warnings (-v) and debug messages (-vv) as they happen")
    parser.add_argument("--version", action="version", version=f"massagectl {_version()}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Each module in controller/commands/ adds its own subcommands, so a new command is a new
    # file and nothing else changes.
    for module_info in sorted(pkgutil.iter_modules(commands.__path__)):
        module = importlib.import_module(f"massagectl.controller.commands.{module_info.name}")
        module.register(subcommands)
    return parser


def _version() -> str:
    try:
        return metadata.version("massagectl")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


@contextlib.contextmanager
def _reader_may_leave() -> Iterator[None]:
    stdout = sys.stdout
    sys.stdout = ReaderMayLeave(stdout)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = stdout


@contextlib.contextmanager
def _log_level(verbose: int) -> Iterator[None]:
    """Without -v only errors print: every warning a session meets (a lost link, a refused
    segment) is said once in its summary and its fault log, not again as a log line."""
    package = logging.getLogger("massagectl")
    before = package.level
    package.setLevel({0: logging.ERROR, 1: logging.WARNING}.get(verbose, logging.DEBUG))
    handler = None
    if verbose and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("massagectl: %(levelname)s: %(message)s"))
        package.addHandler(handler)
    try:
        yield
    finally:
        package.setLevel(before)
        if handler is not None:
            package.removeHandler(handler)


def main(argv: list[str] | None = None) -> int:
    # argv None: this is the program itself (the console script, `python -m`), which exits right
    # after; after a session, stop signals must not kill it in the interpreter's shutdown.
    # A KeyboardInterrupt can only come before a session took the stop signals (CommandSignals
    # notes them from then on), so nothing had started and there is nothing to report but that.
    try:
        # Imported here, as every command is below: Ctrl-C while the imports load (a few tenths
        # of a second) is caught like anywhere else instead of ending in a traceback.
        from massagectl.controller.frontends.terminal import CommandSignals

        with CommandSignals(to_the_end=argv is None), _reader_may_leave():
            parser = build_parser()
            # Answers the shell's completion request and exits, when the shell asked
            # (`massagectl completion` prints the hook); otherwise does nothing.
            argcomplete.autocomplete(parser)
            args = parser.parse_args(argv)
            with _log_level(args.verbose):
                try:
                    return int(args.handler(args) or EXIT_OK)
                except MassageError as error:
                    print(f"massagectl {args.command}: {error}", file=sys.stderr)
                    return EXIT_FAILURE
    except KeyboardInterrupt:
        print("massagectl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
