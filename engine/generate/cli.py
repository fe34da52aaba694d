"""`kinora generate|extend|loop|blend|remix|upscale|retake|fill-gap|plan|models`: the AI tools
from the command line. Each command's options become one typed request
(engine.generate.requests), the same the editor and the job queue submit, run by the executor."""

from __future__ import annotations

import json
import os
import sys

from engine.errors import UserError

DEFAULT_RATE = 24.0
RANGE_HELP = "frames START..END-1 of the file (the clip's trim in an editor; default all of it)"
TOOL_COMMANDS = ("generate", "extend", "loop", "blend", "remix", "upscale", "retake", "fill-gap")


def register(subparsers) -> None:
    gen = subparsers.add_parser("generate", help="generate a video from prompts, images and clips, or a timeline")
    _prompt_options(gen)
    gen.add_argument("--prompt-at", action="append", default=[], metavar="START:END:TEXT",
                     help="a prompt for frames START..END-1 (repeatable: a storyboard)")
    gen.add_argument("--image", action="append", default=[], metavar="PATH@FRAME[:STRENGTH]",
                     help="hold an image at a frame (repeatable)")
    gen.add_argument("--video", action="append", default=[], metavar="PATH@FRAME[:STRENGTH]",
                     help="hold a video's frames from a frame on (repeatable)")
    gen.add_argument("--audio", action="append", default=[], metavar="PATH@FRAME[:STRENGTH]",
                     help="hold a sound from a frame on, for models that make sound (LTX-2): the picture "
                          "follows it and the model continues it (repeatable)")
    gen.add_argument("--project", metavar="PROJECT.kinora",
                     help="generate a range of this project's timeline (its prompt blocks, stills and clips)")
    gen.add_argument("--range", metavar="START:END", help="with --project: timeline frames START..END-1 "
                                                          "(default the whole timeline)")
    length = gen.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, help="number of frames (rounded to what the model makes)")
    length.add_argument("--duration", type=float, help="length in seconds")
    gen.add_argument("--rate", type=float, default=DEFAULT_RATE, help="frames per second (default 24)")
    gen.add_argument("--fit", choices=("fill", "fit", "crop"), default="fill",
                     help="how an --image or --video of another shape than the output is framed: fill (cover, "
                          "centre cropped; the default), fit (letterboxed, all of it kept) or crop (unscaled)")
    _common_options(gen)

    ext = subparsers.add_parser("extend", help="continue a clip forward or backward")
    ext.add_argument("video")
    _prompt_options(ext)
    ext.add_argument("--backward", action="store_true", help="generate frames before the clip")
    ext.add_argument("--frames", type=int, default=16, help="new frames (default 16)")
    ext.add_argument("--context", type=int, default=9, help="frames of the clip to continue from (default 9)")
    ext.add_argument("--range", metavar="START:END", help=RANGE_HELP)
    _common_options(ext)

    lp = subparsers.add_parser("loop", help="generate a bridge that makes a clip loop")
    lp.add_argument("video")
    _prompt_options(lp)
    lp.add_argument("--frames", type=int, default=16, help="bridge frames (default 16)")
    lp.add_argument("--context", type=int, default=9)
    lp.add_argument("--range", metavar="START:END", help=RANGE_HELP)
    _common_options(lp)

    bl = subparsers.add_parser("blend", help="blend two clips along influence curves")
    bl.add_argument("first")
    bl.add_argument("second")
    _prompt_options(bl)
    bl.add_argument("--preset-curve", dest="curve", default=None, choices=("transition", "mix"),
                    help="crossing curves to use when none are drawn (default transition)")
    bl.add_argument("--first-curve", metavar="FRAME:VALUE,...", help="the first clip's influence curve, e.g. 0:1,16:0")
    bl.add_argument("--second-curve", metavar="FRAME:VALUE,...", help="the second clip's influence curve")
    bl.add_argument("--frames", type=int, default=None, help="frames (default: the shorter clip's length)")
    bl.add_argument("--first-range", metavar="START:END", help="frames of the first file to use (default all)")
    bl.add_argument("--second-range", metavar="START:END", help="frames of the second file to use (default all)")
    _common_options(bl)

    for name, default, help_text in (("remix", 0.5, "re-imagine a clip with a new prompt"),
                                     ("upscale", 0.3, "upsample a clip and re-denoise it at low strength")):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("video")
        _prompt_options(p)
        p.add_argument("--strength", type=float, default=default, help=f"how much to change, 0..1 (default {default})")
        p.add_argument("--range", metavar="START:END", help=RANGE_HELP)
        _common_options(p)

    rt = subparsers.add_parser("retake", help="regenerate a range inside a clip, the rest held")
    rt.add_argument("video")
    rt.add_argument("frames", metavar="START:END", help="frames START..END-1 of the clip to regenerate")
    _prompt_options(rt)
    rt.add_argument("--ramp", type=int, default=4, help="frames easing from held to free at each edge (default 4)")
    rt.add_argument("--range", metavar="START:END", help=RANGE_HELP)
    _common_options(rt)

    fg = subparsers.add_parser("fill-gap", help="generate the frames between two clips, their ends held")
    fg.add_argument("first", help="the clip before the gap")
    fg.add_argument("second", help="the clip after the gap")
    _prompt_options(fg)
    fg.add_argument("--frames", type=int, default=24, help="frames in the gap (default 24)")
    fg.add_argument("--context", type=int, default=9, help="frames of each neighbour held (default 9)")
    _common_options(fg)

    plan = subparsers.add_parser("plan", help="print what the model will be told for a project's timeline (JSON)")
    plan.add_argument("project", metavar="PROJECT.kinora")
    plan.add_argument("--range", metavar="START:END", help="timeline frames START..END-1 (default the whole timeline)")
    plan.add_argument("--model", help="model name or folder (default: the bundled model)")
    plan.add_argument("--prompt", default="", help="prompt for the frames no prompt block covers")
    plan.set_defaults(run=_run_plan)

    models = subparsers.add_parser("models", help="list the video models Kinora can find")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=_run_models)


def _prompt_options(parser) -> None:
    parser.add_argument("prompt", nargs="?", default=None, help="the prompt (or --prompt TEXT)")
    parser.add_argument("--prompt", dest="prompt_option", metavar="TEXT",
                        help="the prompt; one that starts with '-' as --prompt='-glitch art'")


def _common_options(parser) -> None:
    parser.add_argument("--negative", default="", help="what to avoid")
    parser.add_argument("--size", metavar="WxH", help="output size, e.g. 704x480")
    parser.add_argument("--aspect", choices=("16:9", "1:1", "9:16"),
                        help="default: the model's native size if it has one, else 16:9")
    parser.add_argument("--resolution", choices=("480p", "720p", "1080p"),
                        help="default: the model's native size if it has one, else 480p")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="guide only the steps at noise levels LOW..HIGH (0-1; default: the model's own, else all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variations", type=int, default=1)
    parser.add_argument("--preset", help="a preset name from resources/presets, or a .toml file")
    parser.add_argument("--model", help="model name or folder (default: the bundled model)")
    parser.add_argument("--device", choices=("cpu", "cuda"))
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4|OUT.npy")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--consent", action="store_true",
                        help="you have the consent of the people shown in the images or clips you condition on")
    parser.set_defaults(run=_run_tool)


# -- parsing helpers -------------------------------------------------------------------------------

def parse_placement(text: str, option: str) -> tuple[str, int, float]:
    """PATH@FRAME[:STRENGTH] -> (path, frame, strength)."""
    path, sep, where = text.rpartition("@")
    if not sep or not path:
        raise UserError(f"{option} {text!r}: write PATH@FRAME or PATH@FRAME:STRENGTH, e.g. cat.png@0:1.0")
    frame_text, _, strength_text = where.partition(":")
    try:
        frame = int(frame_text)
        strength = float(strength_text) if strength_text else 1.0
    except ValueError:
        raise UserError(f"{option} {text!r}: FRAME must be a whole number and STRENGTH a number in 0..1") from None
    return path, frame, strength


def parse_range(text: str | None, option: str = "--range") -> tuple[int, int] | None:
    """START:END -> (START, END): frames START..END-1."""
    if not text:
        return None
    try:
        first, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise UserError(f"{option} {text!r}: write START:END in frames, e.g. 12:60") from None
    if not 0 <= first < stop:
        raise UserError(f"{option} {text!r}: START must be 0 or more and END after it")
    return first, stop


def parse_curve(text: str | None, option: str):
    """FRAME:VALUE,... -> keyframes [[frame, value, "linear"], ...]."""
    if not text:
        return None
    points = []
    for part in text.split(","):
        try:
            frame, value = part.split(":")
            points.append((float(frame), float(value), "linear"))
        except ValueError:
            raise UserError(f"{option} {text!r}: write FRAME:VALUE pairs separated by commas, e.g. 0:1,16:0") from None
    return tuple(points)


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


# -- argv -> request ---------------------------------------------------------------------------------

def request_from_argv(tool: str, argv: list[str]):
    """The request `kinora TOOL ARGV...` stands for (what `kinora jobs submit TOOL ...` queues)."""
    import argparse

    if tool not in TOOL_COMMANDS:
        raise UserError(f"{tool!r} is not an AI tool; use one of {', '.join(TOOL_COMMANDS)}")
    parser = argparse.ArgumentParser(prog=f"kinora {tool}")
    register(parser.add_subparsers(dest="command"))
    return request_from_args(parser.parse_args([tool, *argv]))


def request_from_args(args):
    """The typed request a tool command's options stand for; file paths made absolute, so a
    queued request means the same whichever folder the worker runs in."""
    from engine.generate import requests as rq

    command = args.command
    prompt = args.prompt_option if args.prompt_option is not None else (args.prompt or "")
    sampling = rq.Sampling(seed=args.seed, variations=args.variations, steps=args.steps, guidance=args.guidance,
                           guidance_interval=tuple(args.guidance_interval) if args.guidance_interval else None,
                           preset=_absolute(args.preset) if args.preset and args.preset.endswith(".toml")
                           else args.preset,
                           model=_absolute(args.model) if args.model and os.path.isdir(args.model) else args.model,
                           device=args.device, consent=args.consent)
    width = height = None
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise UserError(f"--size {args.size!r}: write WIDTHxHEIGHT, e.g. 704x480") from None
    common = dict(output=_absolute(args.output), prompt=prompt, negative=args.negative, sampling=sampling,
                  size=rq.Size(aspect=args.aspect, resolution=args.resolution, width=width, height=height))
    if command == "generate":
        if args.project:
            return _storyboard_request(args, common)
        placements = {f"{option}s": tuple(rq.Placement(path=_absolute(p), frame=f, strength=s,
                                                       **({"fit": args.fit} if option != "audio" else {}))
                                          for p, f, s in (parse_placement(text, f"--{option}")
                                                          for text in getattr(args, option)))
                      for option in ("image", "video", "audio")}
        spans = tuple(_prompt_at(text) for text in args.prompt_at)
        return rq.Generate(**common, prompts_at=spans, frames=args.frames, duration=args.duration, rate=args.rate,
                           **placements)
    if command == "blend":
        first = rq.ClipRef.of_file(_absolute(args.first), parse_range(args.first_range, "--first-range"))
        second = rq.ClipRef.of_file(_absolute(args.second), parse_range(args.second_range, "--second-range"))
        return rq.Blend(**common, first=first, second=second, curve_preset=args.curve, frames=args.frames,
                        first_curve=parse_curve(args.first_curve, "--first-curve"),
                        second_curve=parse_curve(args.second_curve, "--second-curve"))
    if command == "fill-gap":
        return _fill_gap_request(args, common)
    clip = rq.ClipRef.of_file(_absolute(args.video), parse_range(args.range))
    if command == "extend":
        return rq.Extend(**common, clip=clip, direction="backward" if args.backward else "forward",
                         frames=args.frames, context=args.context)
    if command == "loop":
        return rq.Loop(**common, clip=clip, frames=args.frames, context=args.context)
    if command == "remix":
        return rq.Remix(**common, clip=clip, strength=args.strength)
    if command == "upscale":
        return rq.Upscale(**common, clip=clip, strength=args.strength)
    if command == "retake":
        start, stop = parse_range(args.frames, "START:END")
        return rq.Retake(**common, clip=clip, start=start, stop=stop, ramp=args.ramp)
    raise UserError(f"{command!r} is not an AI tool; use one of {', '.join(TOOL_COMMANDS)}")


def _prompt_at(text: str):
    from engine.generate.requests import PromptAt

    parts = text.split(":", 2)
    try:
        start, stop, body = int(parts[0]), int(parts[1]), parts[2]
    except (ValueError, IndexError):
        raise UserError(f"--prompt-at {text!r}: write START:END:TEXT, e.g. 0:24:a cat wakes up") from None
    return PromptAt(start=start, stop=stop, text=body)


def _storyboard_request(args, common):
    from engine.generate.requests import Storyboard, TimelineRef
    from engine.model.serialize import load_project

    if args.image or args.video or args.prompt_at or args.frames or args.duration:
        raise UserError("--project generates the project's timeline: give its range with --range, and put pictures "
                        "and prompt blocks on the timeline instead of --image, --video, --prompt-at, --frames")
    project = load_project(args.project)
    frames = _project_range(project, args.range)
    return Storyboard(**common, timeline=TimelineRef.of(project), start=frames[0], stop=frames[1])


def _project_range(project, text) -> tuple[int, int]:
    span = parse_range(text)
    if span is None:
        if project.timeline.duration <= 0:
            raise UserError(f"{project.path}: the timeline is empty; add prompt blocks, stills or clips first")
        return 0, project.timeline.duration
    return span


def _fill_gap_request(args, common):
    from engine.generate.requests import FillGap, TimelineRef
    from engine.generate.tools import one_clip_project
    from engine.model import edits

    project, first_id = one_clip_project(_absolute(args.first))
    track, first = project.timeline.find(first_id)
    other, second_id = one_clip_project(_absolute(args.second))
    _, second = other.timeline.find(second_id)
    if args.frames < 1:
        raise UserError(f"--frames {args.frames}: the gap needs at least one frame")
    import dataclasses

    edits.add_media(project, next(iter(other.media.values())))
    edits.insert(project, track.id, dataclasses.replace(second, start=first.range.stop + args.frames))
    return FillGap(**common, timeline=TimelineRef.of(project), track_id=track.id, start=first.range.stop,
                   stop=first.range.stop + args.frames, context=args.context)


# -- running ---------------------------------------------------------------------------------------

def _run_tool(args) -> int:
    from engine.generate.executor import execute

    request = request_from_args(args)
    warn = lambda message: print(f"kinora {args.command}: {message}", file=sys.stderr)  # noqa: E731
    limits_notes(request, warn)
    estimate_note(request, warn)
    progress = None if args.quiet else _progress_bar(args.command)
    written = execute(request, on_progress=progress, warn=warn)
    if not args.quiet:
        print(file=sys.stderr)
    for path in written:
        print(path)
    return 0


def limits_notes(request, warn) -> None:
    """Say before the job starts where a prompt or range is outside what the model was trained on
    (engine.generate.limits): the same hints the editor shows under its prompts."""
    from engine.generate.limits import request_hints

    for hint in request_hints(request):
        warn(f"hint: {hint}")


def estimate_note(request, warn) -> None:
    """Say before a long job, or one made as a chain of windows, starts how long it will take (when
    the cost estimate is available): "7 windows, about 2 minutes on this CPU"."""
    try:
        from engine.generate import cost
    except ImportError:
        return
    try:
        estimate = cost.estimate_request(request)
    except Exception:  # an estimate is advice; never let it stop a generation
        return
    if estimate is not None and (estimate.long or estimate.windows > 1):
        warn(cost.describe(estimate))


def _progress_bar(command: str):
    state = {"last": ""}

    def on_step(progress) -> None:
        if progress.total <= 0:  # a phase (loading, notes): its own line
            if progress.message and progress.message != state["last"]:
                sys.stderr.write(f"\rkinora {command}: {progress.message}\n")
                state["last"] = progress.message
            return
        filled = int(progress.fraction * 30)
        sys.stderr.write(f"\rkinora {command}: [{'#' * filled}{' ' * (30 - filled)}] {progress.message}")
        sys.stderr.flush()
    return on_step


def _run_plan(args) -> int:
    from engine.generate import windows
    from engine.generate.compiler import compile as compile_plan
    from engine.generate.models import resolve
    from engine.generate.planning import planning_caps
    from engine.model.serialize import load_project
    from engine.time import FrameRange

    project = load_project(args.project)
    info = resolve(args.model)
    caps = planning_caps(info)
    start, stop = _project_range(project, args.range)
    frames = FrameRange(start, start + caps.nearest_frame_count(stop - start))
    multiple = caps.size_multiple
    width = max(multiple, project.settings.width // multiple * multiple)
    height = max(multiple, project.settings.height // multiple * multiple)
    plan = compile_plan(project, frames, caps, prompt=args.prompt, width=width, height=height)
    # a range longer than the model makes at once runs as a chain: where each window sits
    print(json.dumps({**plan.summary(), "windows": windows.summary(plan, caps)}, indent=1))
    from engine.generate.executor import chain_note

    if (note := chain_note(plan, caps)) is not None:  # said for people; stdout stays the JSON
        print(f"kinora plan: {note}", file=sys.stderr)
    return 0


def _run_models(args) -> int:
    from engine.generate.models import discover, search_dirs

    found = discover()
    if args.json:
        print(json.dumps([{"name": m.name, "path": str(m.path), "family": m.family, "usable": m.usable,
                           "problem": m.problem} for m in found], indent=2))
        return 0
    if not found:
        print("no models found; looked in: " + ", ".join(str(d) for d in search_dirs()) + " and the Hugging Face cache")
        return 0
    for m in found:
        status = "ok" if m.usable else f"unusable: {m.problem}"
        print(f"{m.name}\t{m.family or '?'}\t{m.path}\t{status}")
    return 0
