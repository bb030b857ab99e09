"""Routine subcommands: `routines`, `validate`, `compile`, `schema` and `plot`."""

from __future__ import annotations

import argparse
import json
import sys

from massagectl.controller.cli_options import add_config, add_routine_argument, config_of
from massagectl.controller.session.notes import plan_notes, timer_note
from massagectl.controller.session.preflight import COMPILE_LEVEL, verdict_for
from massagectl.routines.compiler import compile_routine
from massagectl.routines.device import DeviceProfile, load_device
from massagectl.routines.errors import InputError, InvalidFileError
from massagectl.routines.library import (
    builtin_routine_file,
    builtin_routine_names,
    builtin_routine_text,
    library_entries,
    refuse_builtin_misfit,
    resolve_routine,
)
from massagectl.routines.loading import names_a_file
from massagectl.routines.plan import Plan
from massagectl.routines.plan_json import plan_to_json
from massagectl.routines.routine import Routine, load_routine, routine_json_schema
from massagectl.routines.summary import format_duration, plan_summary
from massagectl.routines.user import UserProfile, load_user
from massagectl.safety.device_check import ceiling_problems, load_checked_device
from massagectl.safety.verdicts import Refusal

EXIT_OK = 0
EXIT_FAILURE = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser(
        "routines", help="list the built-in routines; `routines show NAME` prints one",
        description="List the built-in routines, or print one as a template to copy: "
        "`massagectl routines show relax > evening.toml`.")
    listing.set_defaults(handler=list_routines)
    actions = listing.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="print a built-in routine's file (a template)")
    show.add_argument("name", metavar="NAME", help="a built-in routine's name")
    show.set_defaults(handler=show_routine)

    validate = subparsers.add_parser(
        "validate", help="check routine files; one line per problem as FILE: field: message"
    )
    validate.add_argument("paths", nargs="+", metavar="ROUTINE",
                          help="routine files (TOML) or built-in routine names")
    _add_profiles(validate)
    add_config(validate)  # the owner's lowered limits, which `run` applies too
    validate.set_defaults(handler=validate_files)

    compile_ = subparsers.add_parser("compile", help="compile a routine and summarise the plan")
    _add_routine(compile_)
    compile_.add_argument("--json", action="store_true", help="print the plan as JSON")
    compile_.set_defaults(handler=compile_command)

    schema = subparsers.add_parser("schema", help="print the JSON Schema of routine files")
    schema.set_defaults(handler=print_schema)

    plot = subparsers.add_parser("plot", help="draw a plan, one lane per channel")
    _add_routine(plot)
    plot.add_argument("-o", "--output", required=True, metavar="FILE", help="image to write")
    plot.set_defaults(handler=plot_command)


def _add_profiles(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="chair", metavar="chair|pad|PATH",
                        help="device profile: a built-in name or a file (default: chair)")
    parser.add_argument("--user", default=None, metavar="PATH",
                        help="user profile file (default: an average adult)")


def _add_routine(parser: argparse.ArgumentParser) -> None:
    add_routine_argument(parser, "a built-in routine name or a file")
    _add_profiles(parser)
    parser.add_argument("--intensity", type=int, choices=range(1, 6), default=None,
                        help="level 1-5 (default: the routine's, else the user's preference)")


def _profiles(args: argparse.Namespace) -> tuple[DeviceProfile, UserProfile]:
    return load_checked_device(args.device), load_user(args.user)


def _print_problems(error: InvalidFileError, stream=None) -> int:
    for problem in error.problems:
        print(problem, file=stream or sys.stderr)
    return EXIT_FAILURE


def list_routines(args: argparse.Namespace) -> int:
    rows = [
        (entry.name, format_duration(entry.duration_s), ", ".join(entry.techniques),
         ", ".join(entry.devices) or "-")
        for entry in library_entries()
    ]
    header = ("routine", "duration", "techniques", "devices")
    widths = [max(len(row[column]) for row in rows + [header]) for column in range(3)]
    for name, duration, techniques, devices in [header] + rows:
        print(f"{name:<{widths[0]}}  {duration:>{widths[1]}}  {techniques:<{widths[2]}}  {devices}")
    return EXIT_OK


def validate_files(args: argparse.Namespace) -> int:
    """Each file as `run` would take it: fit for the device, then admitted (with the owner's
    limits) through the same code as `run`, showing every change and note `run` shows. A device
    profile past a ceiling is reported once, and the routines are still checked."""
    # Loaded unchecked: the device's own problems are reported with the routines' below.
    device, user = load_device(args.device), load_user(args.user)
    limits = config_of(args).limits
    status = EXIT_OK
    for problem in ceiling_problems(device, str(args.device)):
        print(problem)
        status = EXIT_FAILURE
    for path in args.paths:
        try:
            routine = _load_for_validation(path, device, user)
        except InvalidFileError as error:
            status = _print_problems(error, sys.stdout)
            continue
        except InputError as error:  # a built-in routine made for another device
            print(f"{path}: {error}")
            status = EXIT_FAILURE
            continue
        verdict = verdict_for(routine, device, user, limits)
        if isinstance(verdict, Refusal):
            for violation in verdict.violations:
                print(f"{path}: safety (as at intensity {COMPILE_LEVEL}): {violation}")
            status = EXIT_FAILURE
            continue
        if verdict.changes:
            print(f"{path}: valid for device {device.name!r}; within the safety limits after "
                  f"{len(verdict.changes)} change(s) that run makes:")
        else:
            print(f"{path}: valid for device {device.name!r} and within the safety limits")
        timer = timer_note(verdict.plan.duration_s, verdict.auto_off_s)
        for note in [*plan_notes(verdict), *filter(None, [timer])]:
            changed = note.startswith("changed: ")
            print(f"{path}: {note if changed else 'note: ' + note}",
                  file=sys.stdout if changed else sys.stderr)
    return status


def _load_for_validation(name_or_path: str, device: DeviceProfile,
                         user: UserProfile) -> Routine:
    """A routine file, or a built-in routine by name (as run, compile and plot take them)."""
    if name_or_path in builtin_routine_names() and not names_a_file(name_or_path):
        refuse_builtin_misfit(name_or_path, device, user)
        with builtin_routine_file(name_or_path) as path:
            return load_routine(path, device, user)
    return load_routine(name_or_path, device, user)


def show_routine(args: argparse.Namespace) -> int:
    print(builtin_routine_text(args.name), end="")
    return EXIT_OK


def _compile(args: argparse.Namespace) -> Plan:
    device, user = _profiles(args)
    refuse_builtin_misfit(args.routine, device, user)
    return compile_routine(resolve_routine(args.routine), device, user, args.intensity)


def compile_command(args: argparse.Namespace) -> int:
    try:
        plan = _compile(args)
    except InvalidFileError as error:
        return _print_problems(error)
    if args.json:
        json.dump(plan_to_json(plan), sys.stdout, indent=1)
        print()
    else:
        user_name = load_user(args.user).name
        print(plan_summary(plan, user_name), end="")
    return EXIT_OK


def print_schema(args: argparse.Namespace) -> int:
    print(json.dumps(routine_json_schema(), indent=2))
    return EXIT_OK


def plot_command(args: argparse.Namespace) -> int:
    from massagectl.routines.plot import plot_plan

    try:
        plan = _compile(args)
    except InvalidFileError as error:
        return _print_problems(error)
    print(f"wrote {plot_plan(plan, args.output)}")
    return EXIT_OK
