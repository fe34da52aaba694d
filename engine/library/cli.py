"""`kinora library list|search|show`: the catalogue of generations from the command line."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    library = subparsers.add_parser("library", help="the library of generations: list, search, show")
    commands = library.add_subparsers(dest="library_command", metavar="ACTION")

    listing = commands.add_parser("list", help="the latest generations")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--favourites", action="store_true")
    listing.add_argument("--tag")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_run_list)

    search = commands.add_parser("search", help="generations whose prompts hold these words")
    search.add_argument("text")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--json", action="store_true")
    search.set_defaults(run=_run_search)

    show = commands.add_parser("show", help="everything recorded about one generation")
    show.add_argument("id", type=int)
    show.set_defaults(run=_run_show)
    library.set_defaults(run=lambda args: library.print_help() or 2)


def _library():
    from engine.library.catalog import Library

    return Library()


def _print_rows(rows: list[dict], as_json: bool, empty: str) -> int:
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(empty)
    for row in rows:
        text = row["prompt_text"].replace("\n", " / ")
        text = text if len(text) <= 60 else text[:59] + "…"
        star = "*" if row["favourite"] else " "
        print(f"{row['id']}\t{star}\t{row['tool']}\t{text}\t{row['output_path']}")
    return 0


def _run_list(args) -> int:
    library = _library()
    try:
        rows = library.list_generations(args.limit, favourites=args.favourites, tag=args.tag)
    finally:
        library.close()
    return _print_rows(rows, args.json, "the library holds no generations yet")


def _run_search(args) -> int:
    library = _library()
    try:
        rows = library.search(args.text, args.limit)
    finally:
        library.close()
    return _print_rows(rows, args.json, f"no generation's prompt matches {args.text!r}")


def _run_show(args) -> int:
    library = _library()
    try:
        print(json.dumps(library.generation(args.id), indent=2))
    finally:
        library.close()
    return 0
