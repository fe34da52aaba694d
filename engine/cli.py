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
    "desktop": "engine.desktop",
    "otio": "engine.model.cli",
    "bundle": "engine.model.cli",
    "jobs": "engine.jobs.cli", "library": "engine.library.cli",
    "probe": "engine.media.cli", "render": "engine.media.cli", "provenance": "engine.media.cli",
    **dict.fromkeys(("generate", "extend", "loop", "blend", "remix", "upscale", "retake", "fill-gap", "plan",
                     "models"), "engine.generate.cli"),
}

EXIT_BAD_INPUT = 2
EDITOR_FILE_SUFFIXES = (".kinora", ".kinorabundle", ".otio")  # a first argument with one of these is a file to open


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kinora", description="Kinora: video editing with local AI generation.")
    parser.add_argument("--version", action="version", version=f"kinora {kinora_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else sorted(set(COMMANDS.values()))
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    return parser


def is_command(argv: list[str]) -> bool:
    """Whether argv is for the headless commands (a command, --version/--help, or a word that is
    neither a command nor a file to open, which main names as unknown) rather than the editor."""
    return bool(argv) and (argv[0] in COMMANDS or argv[0] in ("--version", "-h", "--help") or is_unknown_command(argv[0]))


def is_unknown_command(word: str) -> bool:
    """A first argument that is no command, no option (Qt's own start with "-") and no file the
    editor could open: a typo or a command this version does not have must not open the editor."""
    path_like = word.lower().endswith(EDITOR_FILE_SUFFIXES) or os.sep in word or "/" in word or os.path.exists(word)
    return not (word in COMMANDS or word.startswith("-") or path_like)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and is_unknown_command(argv[0]):
        print(f"kinora: unknown command {argv[0]!r}; the commands are: {', '.join(sorted(COMMANDS))}", file=sys.stderr)
        return EXIT_BAD_INPUT
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
