"""`kinora generate|extend|loop|blend|remix|upscale|models`: the AI tools from the command line."""

from __future__ import annotations

import json
import sys

from engine.errors import UserError

DEFAULT_RATE = 24.0
RANGE_HELP = "frames START..END-1 of the file (the clip's trim in an editor; default all of it)"


def register(subparsers) -> None:
    gen = subparsers.add_parser("generate", help="generate a video from prompts, images and clips")
    gen.add_argument("prompt", nargs="?", default="", help="prompt for the frames no --prompt-at covers")
    gen.add_argument("--prompt-at", action="append", default=[], metavar="START:END:TEXT",
                     help="a prompt for frames START..END-1 (repeatable: a storyboard)")
    gen.add_argument("--image", action="append", default=[], metavar="PATH@FRAME[:STRENGTH]",
                     help="hold an image at a frame (repeatable)")
    gen.add_argument("--video", action="append", default=[], metavar="PATH@FRAME[:STRENGTH]",
                     help="hold a video's frames from a frame on (repeatable)")
    length = gen.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, help="number of frames (rounded to what the model makes)")
    length.add_argument("--duration", type=float, help="length in seconds")
    gen.add_argument("--rate", type=float, default=DEFAULT_RATE, help="frames per second (default 24)")
    _size_options(gen)
    _common_options(gen)
    gen.set_defaults(run=_run_tool)

    ext = subparsers.add_parser("extend", help="continue a clip forward or backward")
    ext.add_argument("video")
    ext.add_argument("prompt", nargs="?", default="")
    ext.add_argument("--backward", action="store_true", help="generate frames before the clip")
    ext.add_argument("--frames", type=int, default=16, help="new frames (default 16)")
    ext.add_argument("--context", type=int, default=9, help="frames of the clip to continue from (default 9)")
    ext.add_argument("--range", metavar="START:END", help=RANGE_HELP)
    _size_options(ext)
    _common_options(ext)
    ext.set_defaults(run=_run_tool)

    lp = subparsers.add_parser("loop", help="generate a bridge that makes a clip loop")
    lp.add_argument("video")
    lp.add_argument("prompt", nargs="?", default="")
    lp.add_argument("--frames", type=int, default=16, help="bridge frames (default 16)")
    lp.add_argument("--context", type=int, default=9)
    lp.add_argument("--range", metavar="START:END", help=RANGE_HELP)
    _size_options(lp)
    _common_options(lp)
    lp.set_defaults(run=_run_tool)

    bl = subparsers.add_parser("blend", help="blend two clips along influence curves")
    bl.add_argument("first")
    bl.add_argument("second")
    bl.add_argument("prompt", nargs="?", default="")
    bl.add_argument("--preset-curve", dest="curve", default="transition", choices=("transition", "mix"))
    bl.add_argument("--frames", type=int, default=None, help="frames (default: the shorter clip's length)")
    bl.add_argument("--first-range", metavar="START:END", help="frames of the first file to use (default all)")
    bl.add_argument("--second-range", metavar="START:END", help="frames of the second file to use (default all)")
    _size_options(bl)
    _common_options(bl)
    bl.set_defaults(run=_run_tool)

    for name, default, help_text in (("remix", 0.5, "re-imagine a clip with a new prompt"),
                                     ("upscale", 0.3, "upsample a clip and re-denoise it at low strength")):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("video")
        p.add_argument("prompt", nargs="?", default="")
        p.add_argument("--strength", type=float, default=default,
                       help=f"how much to change, 0..1 (default {default})")
        p.add_argument("--range", metavar="START:END", help=RANGE_HELP)
        _size_options(p)
        _common_options(p)
        p.set_defaults(run=_run_tool)

    models = subparsers.add_parser("models", help="list the video models Kinora can find")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=_run_models)


def _size_options(parser) -> None:
    parser.add_argument("--size", metavar="WxH", help="output size, e.g. 704x480")
    parser.add_argument("--aspect", choices=("16:9", "1:1", "9:16"),
                        help="default: the model's native size if it has one, else 16:9")
    parser.add_argument("--resolution", choices=("480p", "720p", "1080p"),
                        help="default: the model's native size if it has one, else 480p")


def _common_options(parser) -> None:
    parser.add_argument("--negative", default="", help="what to avoid")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="guide only the steps at noise levels LOW..HIGH (0-1; default: the model's own, "
                             "else all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variations", type=int, default=1)
    parser.add_argument("--preset", help="a preset name from resources/presets, or a .toml file")
    parser.add_argument("--model", help="model name or folder (default: the bundled model)")
    parser.add_argument("--device", choices=("cpu", "cuda"))
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4|OUT.npy")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--consent", action="store_true",
                        help="you have the consent of the people shown in the images or clips you condition on")


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


def parse_prompt_at(text: str):
    from engine.generate.tools import PromptSpan

    parts = text.split(":", 2)
    try:
        start, stop = int(parts[0]), int(parts[1])
        body = parts[2]
    except (ValueError, IndexError):
        raise UserError(f"--prompt-at {text!r}: write START:END:TEXT, e.g. 0:24:a cat wakes up") from None
    if stop <= start:
        raise UserError(f"--prompt-at {text!r}: END must be after START")
    return PromptSpan(start, stop, body)


def parse_range(text: str | None, option: str = "--range") -> tuple[int, int] | None:
    """START:END -> (START, END): frames START..END-1 of a file."""
    if not text:
        return None
    try:
        first, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise UserError(f"{option} {text!r}: write START:END in frames, e.g. 12:60") from None
    if not 0 <= first < stop:
        raise UserError(f"{option} {text!r}: START must be 0 or more and END after it")
    return first, stop


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise UserError(f"--size {text!r}: write WIDTHxHEIGHT, e.g. 704x480") from None


# -- running ---------------------------------------------------------------------------------------

def _load(args):
    from engine.generate.run import check_output
    from engine.generate.settings import SamplingSettings
    from engine.generate.tools import load_preset

    check_output(args.output)
    from engine.safety.consent import check_consent, conditioning_paths

    consent = check_consent(conditioning_paths(vars(args)), consent=args.consent)
    if consent.get("warning"):
        print(f"kinora {args.command}: {consent['warning']}", file=sys.stderr)
    preset = load_preset(args.preset) if args.preset else None
    settings = SamplingSettings(steps=args.steps, guidance=args.guidance, seed=args.seed,
                                variations=args.variations, guidance_interval=interval_of(args))
    from engine.jobs.generate_job import load_backend_cached

    info, backend = load_backend_cached(args.model, args.device)  # with the user's device and memory settings
    print(f"kinora {args.command}: model {info.name} ({info.family}, {info.path})", file=sys.stderr)
    return backend, settings, preset


def interval_of(args) -> tuple[float, float] | None:
    """--guidance-interval as SamplingSettings takes it (a queued job's JSON holds a list)."""
    interval = getattr(args, "guidance_interval", None)
    return tuple(interval) if interval is not None else None


def _size(args, caps, num_frames=None, duration=None, rate=DEFAULT_RATE):
    from engine.generate.settings import choose_size

    width, height = _parse_size(args.size) if args.size else (None, None)
    chosen = choose_size(caps, aspect=args.aspect, resolution=args.resolution, width=width, height=height,
                         num_frames=num_frames, duration=duration, rate=rate)
    return chosen


def _prompt(args, preset):
    text = args.prompt
    return (preset.prompt(text) if preset else text), (args.negative or (preset.negative if preset else ""))


def _execute(args, backend, recipe, settings, preset, fps) -> int:
    from pathlib import Path

    from engine.generate.run import run_recipe, write_output

    for note in recipe.notes:
        print(f"kinora {args.command}: {note}", file=sys.stderr)
    frames, result = run_recipe(backend, recipe, settings, preset=preset,
                                on_step=None if args.quiet else _progress_bar(args.command))
    written = write_output(Path(args.output), frames, fps, result, recipe, backend.name)
    if not args.quiet:
        print(file=sys.stderr)
    for path in written:
        print(path)
    return 0


def _progress_bar(command: str):
    def on_step(progress) -> None:
        filled = int(progress.fraction * 30)
        sys.stderr.write(f"\rkinora {command}: [{'#' * filled}{' ' * (30 - filled)}] {progress.message}")
        sys.stderr.flush()
    return on_step


def _tell(args, chosen) -> None:
    print(f"kinora {args.command}: {chosen.note}", file=sys.stderr)


def recipe_for(args, backend, preset):
    """The recipe of `kinora <args.command>` with these options: (recipe, fps, chosen size,
    prompts for the library record). The one place the commands' options become a plan; the
    persistent job queue runs its jobs through it too."""
    from engine.generate import tools
    from engine.generate.media_io import probe_video

    caps = backend.caps
    prompt, negative = _prompt(args, preset)
    prompts = [{"start": None, "stop": None, "text": prompt, "negative": negative}] if prompt else []
    tool = args.command
    if tool == "generate":
        chosen = _size(args, caps, num_frames=args.frames, duration=args.duration, rate=args.rate)
        cards = [tools.Card(*parse_placement(text, "--image")) for text in args.image]
        cards += [tools.Card(*parse_placement(text, "--video")) for text in args.video]
        spans = [parse_prompt_at(text) for text in args.prompt_at]
        if preset:
            spans = [type(s)(s.start, s.stop, preset.prompt(s.text), s.negative) for s in spans]
        if not prompt and not spans:
            raise UserError("no prompt: give a PROMPT or at least one --prompt-at START:END:TEXT")
        prompts += [{"start": s.start, "stop": s.stop, "text": s.text, "negative": s.negative} for s in spans]
        recipe = tools.storyboard(caps, width=chosen.width, height=chosen.height, num_frames=chosen.num_frames,
                                  rate=args.rate, prompt=prompt, negative=negative, cards=cards, prompts=spans,
                                  tool="generate")
        return recipe, args.rate, chosen, prompts
    if tool == "blend":
        spans = [parse_range(args.first_range, "--first-range"), parse_range(args.second_range, "--second-range")]
        (n1, fps), (n2, _) = probe_video(args.first), probe_video(args.second)
        n1, n2 = (n if span is None else span[1] - span[0] for n, span in zip((n1, n2), spans))
        chosen = _size(args, caps, num_frames=args.frames or min(n1, n2), rate=fps)
        recipe = tools.blend(caps, args.first, args.second, preset=args.curve, num_frames=chosen.num_frames,
                             width=chosen.width, height=chosen.height, rate=fps, prompt=prompt, negative=negative,
                             first_span=spans[0], second_span=spans[1])
        return recipe, fps, chosen, prompts
    chosen = _size(args, caps)
    size = dict(width=chosen.width, height=chosen.height, prompt=prompt, negative=negative,
                span=parse_range(args.range))
    if tool == "extend":
        recipe = tools.extend(caps, args.video, direction="backward" if args.backward else "forward",
                              context=args.context, new_frames=args.frames, **size)
    elif tool == "loop":
        recipe = tools.loop(caps, args.video, context=args.context, bridge=args.frames, **size)
    elif tool in ("remix", "upscale"):
        recipe = getattr(tools, tool)(caps, args.video, strength=args.strength, **size)
    else:
        raise UserError(f"{tool!r} is not an AI tool; use one of generate, extend, loop, blend, remix, upscale")
    return recipe, probe_video(args.video)[1], chosen, prompts


def _run_tool(args) -> int:
    backend, settings, preset = _load(args)
    recipe, fps, chosen, _ = recipe_for(args, backend, preset)
    if args.command in ("generate", "blend"):  # the tools that choose a length say what they chose
        _tell(args, chosen)
    return _execute(args, backend, recipe, settings, preset, fps)


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

