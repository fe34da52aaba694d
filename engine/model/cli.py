"""`kinora info PROJECT` and `kinora otio import|export`."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="summarise a .kinora project")
    info.add_argument("project", help="a .kinora project file")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(run=_run_info)
    _register_otio(subparsers)
    bundle = subparsers.add_parser("bundle", help="a project and its media in one file, to move or share")
    actions = bundle.add_subparsers(dest="bundle_action", metavar="ACTION", required=True)
    pack = actions.add_parser("export", help="write PROJECT and its media into a .kinorabundle")
    pack.add_argument("project")
    pack.add_argument("-o", "--output", required=True)
    pack.set_defaults(run=_run_bundle_export)
    unpack = actions.add_parser("open", help="check and unpack a .kinorabundle into a folder")
    unpack.add_argument("bundle")
    unpack.add_argument("-o", "--output", required=True, help="folder to unpack into (new or empty)")
    unpack.add_argument("--merge", action="store_true",
                        help="unpack into a folder that already holds files; a file it would replace is kept "
                             "as NAME.~1~")
    unpack.set_defaults(run=_run_bundle_open)


def project_summary(project) -> dict:
    settings = project.settings
    return {
        "path": project.path,
        "size": [settings.width, settings.height],
        "aspect": settings.aspect_name,
        "rate": settings.rate.to_json(),
        "fps": str(settings.rate),
        "sample_rate": settings.sample_rate,
        "color_space": settings.color_space,
        "duration_frames": project.timeline.duration,
        "duration": settings.rate.timecode(project.timeline.duration),
        "media": len(project.media),
        "tracks": [{"name": t.name, "kind": t.kind, "items": len(t.items)} for t in project.timeline.tracks],
        "markers": len(project.timeline.markers),
    }


def _run_info(args: argparse.Namespace) -> int:
    from engine.model.serialize import load_project

    summary = project_summary(load_project(args.project))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['path']}")
    print(f"  {summary['size'][0]}x{summary['size'][1]} ({summary['aspect']}) at {summary['fps']} fps "
          f"({summary['rate']}), {summary['duration']} ({summary['duration_frames']} frames)")
    print(f"  sound at {summary['sample_rate']} Hz, colour space {summary['color_space']}")
    print(f"  {summary['media']} media file(s), {summary['markers']} marker(s)")
    for track in summary["tracks"]:
        print(f"  {track['kind']:<6} {track['name']:<12} {track['items']} item(s)")
    return 0


def _register_otio(subparsers: argparse._SubParsersAction) -> None:
    """OpenTimelineIO import/export (engine/model/otio_io.py)."""
    otio_parser = subparsers.add_parser("otio", help="exchange a cut with other editors as OpenTimelineIO (.otio)")
    actions = otio_parser.add_subparsers(dest="otio_action", metavar="ACTION", required=True)
    importing = actions.add_parser("import", help="make a .kinora project from an .otio timeline")
    importing.add_argument("source", help="an .otio file (from Resolve, Kdenlive, Premiere...)")
    importing.add_argument("-o", "--output", required=True, help="the .kinora project to write")
    importing.add_argument("--rate", help="project frame rate (e.g. 25, 29.97, 24000/1001); default: from the file")
    importing.set_defaults(run=_run_otio_import)
    exporting = actions.add_parser("export", help="write a .kinora project's timeline as .otio")
    exporting.add_argument("project", help="a .kinora project file")
    exporting.add_argument("-o", "--output", required=True, help="the .otio file to write")
    exporting.set_defaults(run=_run_otio_export)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _run_otio_import(args: argparse.Namespace) -> int:
    from engine.errors import UserError
    from engine.fsutil import check_not_input, check_writable
    from engine.model.otio_io import import_otio
    from engine.model.serialize import save_project
    from engine.time import FrameRate

    rate = None
    if args.rate is not None:
        try:
            rate = FrameRate.parse(args.rate)
        except (ValueError, ZeroDivisionError):
            raise UserError(f"--rate {args.rate!r} is not a frame rate; use e.g. 25, 29.97 or 24000/1001") from None
    check_writable(args.output)
    check_not_input(args.output, [args.source])
    project, warnings = import_otio(args.source, rate=rate)
    check_not_input(args.output, project_files(project))
    _print_warnings(warnings)
    save_project(project, args.output)
    items = sum(len(track.items) for track in project.timeline.tracks)
    print(f"wrote {args.output}: {len(project.timeline.tracks)} track(s), {items} item(s) at "
          f"{project.rate} fps, {len(warnings)} warning(s)")
    return 0


def project_files(project) -> list[str | None]:
    """The files a command reads when it reads `project`: the project file and its media."""
    return [project.path, *(ref.path for ref in project.media.values())]


def _run_otio_export(args: argparse.Namespace) -> int:
    from engine.fsutil import check_not_input, check_writable
    from engine.model.otio_io import export_otio
    from engine.model.serialize import load_project

    check_writable(args.output)
    project = load_project(args.project)
    check_not_input(args.output, project_files(project))
    timeline, warnings = export_otio(project, args.output)
    _print_warnings(warnings)
    print(f"wrote {args.output}: {len(timeline.tracks)} otio track(s), {len(warnings)} warning(s)")
    return 0


def _run_bundle_export(args: argparse.Namespace) -> int:
    from engine.fsutil import check_writable
    from engine.model.bundle import write_bundle
    from engine.model.serialize import load_project

    check_writable(args.output)
    print(write_bundle(load_project(args.project), args.output))
    return 0


def _run_bundle_open(args: argparse.Namespace) -> int:
    from engine.model.bundle import open_bundle

    opened = open_bundle(args.bundle, args.output, merge=args.merge)
    _print_warnings(opened.warnings)
    for path in opened.kept:
        print(f"kept the file that was there as {path}", file=sys.stderr)
    print(opened.project.path)
    return 0
