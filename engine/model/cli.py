"""`kinora info PROJECT` and `kinora otio import|export`."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="summarise a .kinora project")
    info.add_argument("project", help="a .kinora project file")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(run=_run_info)
    _register_otio(subparsers)


def project_summary(project) -> dict:
    settings = project.settings
    return {
        "path": project.path,
        "size": [settings.width, settings.height],
        "aspect": settings.aspect_name,
        "rate": settings.rate.to_json(),
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
    print(f"  {summary['size'][0]}x{summary['size'][1]} ({summary['aspect']}) at {summary['rate']} fps, "
          f"{summary['duration']} ({summary['duration_frames']} frames)")
    print(f"  {summary['media']} media file(s), {summary['markers']} marker(s)")
    for track in summary["tracks"]:
        print(f"  {track['kind']:<6} {track['name']:<12} {track['items']} item(s)")
    return 0


def _register_otio(subparsers: argparse._SubParsersAction) -> None:
    """OpenTimelineIO import/export (engine/model/otio_io.py)."""
