"""`kinora probe FILE` and `kinora render PROJECT -o OUT`."""

from __future__ import annotations

import json
import sys
import time

from engine.errors import UserError
from engine.time import FrameRange

CODEC_NAMES = ("h264", "h265", "prores", "vp9", "av1", "gif")


def register(subparsers) -> None:
    probe = subparsers.add_parser("probe", help="print what a media file holds, as JSON")
    probe.add_argument("file", help="video, image or audio file")
    probe.set_defaults(run=run_probe)

    render = subparsers.add_parser("render", help="export a project's timeline to a video file")
    render.add_argument("project", help="the .kinora project file")
    render.add_argument("-o", "--output", required=True, help="output file (.mp4, .mov, .mkv, .webm, .gif)")
    render.add_argument("--codec", choices=CODEC_NAMES, help="default: from the output's extension (h264 for .mp4)")
    render.add_argument("--crf", type=int, help="quality, lower is better (codec default when omitted)")
    render.add_argument("--preset", default="medium", help="encoder speed preset (ultrafast ... veryslow)")
    render.add_argument("--range", dest="frame_range", metavar="A:B",
                        help="export timeline frames A (inclusive) to B (exclusive) only")
    render.add_argument("--size", metavar="WxH", help="picture size of the file (default: the project's); "
                        "another aspect gets black bars")
    render.add_argument("--fps", metavar="RATE", help="frame rate of the file, e.g. 25, 29.97 (default: the project's)")
    render.add_argument("--no-audio", action="store_true", help="leave the sound out")
    render.add_argument("--ai-badge", action="store_true", help="mark generated frames with a visible AI badge")
    render.add_argument("--sign-cert", metavar="CERT.pem",
                        help="PEM certificate chain: embed a signed C2PA manifest (.mp4 and .mov; needs --sign-key)")
    render.add_argument("--sign-key", metavar="KEY.pem", help="PEM private key of --sign-cert")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(run=run_render)

    origin = subparsers.add_parser("provenance", help="what made a video Kinora exported: generated and captured ranges")
    origin.add_argument("file", help="a video exported by Kinora")
    origin.set_defaults(run=run_provenance)


def run_provenance(args) -> int:
    from engine.media import c2pa_sign
    from engine.media.provenance import read_provenance

    record = read_provenance(args.file)
    store = c2pa_sign.read(args.file)
    if store is not None:  # the signed Content Credentials, with their validation state
        record["c2pa"] = store
    print(json.dumps(record, indent=2))
    return 0


def run_probe(args) -> int:
    from engine.media.probe import probe

    info = probe(args.file)
    print(json.dumps(info.to_json(), indent=2))
    return 0


def parse_range(text: str | None, duration: int) -> FrameRange | None:
    if not text:
        return None
    try:
        start_text, stop_text = text.split(":")
        start = int(start_text) if start_text else 0
        stop = int(stop_text) if stop_text else duration
        frames = FrameRange(start, stop)
    except ValueError:
        raise UserError(f"--range {text!r}: write it as A:B with whole frame numbers, A before B (e.g. 0:240)") from None
    if frames.duration == 0 or frames.start < 0:
        raise UserError(f"--range {text!r}: the range must start at 0 or later and hold at least one frame")
    return frames


class ProgressBar:
    """A one-line text bar on stderr, redrawn at most ten times a second."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width = stream, width
        self._started = time.monotonic()
        self._drawn_at = 0.0

    def __call__(self, progress) -> None:
        now = time.monotonic()
        finished = progress.step >= progress.total
        if not finished and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        filled = int(self.width * progress.fraction)
        rate = progress.step / max(now - self._started, 1e-6)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{progress.step}/{progress.total} frames  {rate:5.1f} fps")
        if finished:
            self.stream.write("\n")
        self.stream.flush()


def run_render(args) -> int:
    from engine.fsutil import check_writable
    from engine.media.export import RenderSettings, export, parse_output_rate, parse_output_size
    from engine.model.serialize import load_project

    check_writable(args.output)
    project = load_project(args.project)
    settings = RenderSettings(
        codec=args.codec, crf=args.crf, preset=args.preset,
        frame_range=parse_range(args.frame_range, project.timeline.duration), audio=not args.no_audio,
        ai_badge=args.ai_badge, sign_cert=args.sign_cert, sign_key=args.sign_key,
        size=parse_output_size(args.size), rate=parse_output_rate(args.fps))
    export(project, args.output, settings, on_progress=None if args.quiet else ProgressBar())
    print(args.output)
    return 0
