"""Headless `kinora` subcommands. Imports no Qt, and imports each command's module only when
that command runs, so `kinora --version` and `kinora info` answer at once.

Each command module exposes `register(subparsers)` adding its parsers; a parser's handler is
stored with `set_defaults(run=function)` and returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from engine.errors import KinoraError
from engine.version import kinora_version

# command name -> module that registers it
COMMANDS: dict[str, str] = {
    "info": "engine.model.cli",
    "otio": "engine.model.cli",
    "bundle": "engine.model.cli",
    "jobs": "engine.jobs.cli", "library": "engine.library.cli",
    "probe": "engine.media.cli", "render": "engine.media.cli", "provenance": "engine.media.cli",
    **dict.fromkeys(("generate", "extend", "loop", "blend", "remix", "upscale", "models"), "engine.generate.cli"),
}

EXIT_BAD_INPUT = 2


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kinora", description="Kinora: video editing with local AI generation.")
    parser.add_argument("--version", action="version", version=f"kinora {kinora_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else sorted(set(COMMANDS.values()))
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    return parser


def is_command(argv: list[str]) -> bool:
    """Whether argv asks for a headless command (or --version/--help) rather than the editor."""
    return bool(argv) and (argv[0] in COMMANDS or argv[0] in ("--version", "-h", "--help"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # here, so a closed pipe is caught below rather than at exit
        return code
    except BrokenPipeError:
        # The reader of our output went away (`kinora ... | head`): stop quietly, as CPython's
        # documentation of SIGPIPE recommends; the null device takes the rest of the output
        # so the flush at exit cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KinoraError as error:
        print(f"kinora {args.command}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"kinora {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
