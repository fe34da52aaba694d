"""The AI tool jobs (generate, extend, loop, blend, remix, upscale): what `kinora generate`
and its sibling commands do, run by the worker with progress, cancel, crash-safe output files
and a library record of the full recipe.

A job's params are the command's options as parsed by its own argparse definition
(engine/generate/cli.py), plus `tool` (the command), with file paths made absolute at submit
time, so a queued job means the same thing whichever folder the worker runs in.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

from engine.errors import UserError
from engine.progress import CancelToken, Progress

# The worker runs one job at a time and jobs usually share a model: keep the last one loaded.
_backend_cache: dict[tuple, object] = {}
_backend_guard = threading.Lock()
RESOLUTION_STEPS = ("1080p", "720p", "480p")
TOOLS = ("generate", "extend", "loop", "blend", "remix", "upscale")


def generate_parser() -> argparse.ArgumentParser:
    """A parser whose commands are exactly `kinora generate`, `kinora extend`, ... (the same definitions)."""
    from engine.generate import cli as generate_cli

    parser = argparse.ArgumentParser(prog="kinora jobs submit", add_help=False)
    generate_cli.register(parser.add_subparsers(dest="command"))
    return parser


def params_from_argv(argv: list[str], tool: str = "generate", cwd: str | None = None) -> dict:
    """Parse the options of `kinora <tool>` into JSON params, with paths made absolute."""
    from engine.generate.cli import parse_placement
    from engine.generate.run import check_output

    if tool not in TOOLS:
        raise UserError(f"{tool!r} is not an AI tool; use one of {', '.join(TOOLS)}")
    args = generate_parser().parse_args([tool, *argv])
    cwd = cwd or os.getcwd()

    def absolute(path: str) -> str:
        return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))

    params = {key: value for key, value in vars(args).items() if key not in ("run", "command")}
    params["tool"] = tool
    params["output"] = absolute(params["output"])
    check_output(params["output"])  # a missing folder is reported now, not when the job runs
    if tool == "generate":
        for option in ("image", "video"):
            placed = []
            for text in params[option]:
                path, frame, strength = parse_placement(text, f"--{option}")
                placed.append(f"{absolute(path)}@{frame}:{strength}")
            params[option] = placed
    for option in ("video", "first", "second"):  # the source clips of the other tools
        if isinstance(params.get(option), str):
            params[option] = absolute(params[option])
    if params.get("model") and os.path.isdir(absolute(params["model"])):
        params["model"] = absolute(params["model"])
    if params.get("preset") and params["preset"].endswith(".toml"):
        params["preset"] = absolute(params["preset"])
    return params


def lower_settings(params: dict) -> dict | None:
    """Settings that need less memory: one variation, then a lower resolution, then fewer frames.
    None when there is nothing left to lower."""
    lowered = dict(params)
    if params.get("variations", 1) > 1:
        lowered["variations"] = 1
        return lowered
    if params.get("size"):
        width, _, height = params["size"].lower().partition("x")
        w, h = int(width) * 3 // 4 // 32 * 32, int(height) * 3 // 4 // 32 * 32
        if w >= 64 and h >= 64:
            lowered["size"] = f"{w}x{h}"
            return lowered
    elif params.get("resolution") in RESOLUTION_STEPS[:-1]:
        lowered["resolution"] = RESOLUTION_STEPS[RESOLUTION_STEPS.index(params["resolution"]) + 1]
        return lowered
    if params.get("frames") and params["frames"] > 17:
        lowered["frames"] = params["frames"] * 3 // 4
        return lowered
    if params.get("duration") and params["duration"] > 1:
        lowered["duration"] = round(params["duration"] * 0.75, 2)
        return lowered
    return None


def run_tool_job(params: dict, on_progress, cancel: CancelToken) -> list[str]:
    from engine.generate.cli import interval_of, recipe_for
    from engine.generate.run import check_output, run_recipe
    from engine.generate.settings import SamplingSettings
    from engine.generate.tools import load_preset
    from engine.safety.consent import check_consent, conditioning_paths

    tool = params.get("tool", "generate")
    # Options added to the command after the job was queued take their defaults.
    defaults = vars(generate_parser().parse_args(_minimal_argv(tool, params)))
    args = argparse.Namespace(**{**defaults, **params, "command": tool})
    output = check_output(args.output)
    preset = load_preset(args.preset) if args.preset else None
    settings = SamplingSettings(steps=args.steps, guidance=args.guidance, seed=args.seed, variations=args.variations,
                                guidance_interval=interval_of(args))
    on_progress(Progress(0, 0, "looking for people in the conditioning media"))
    params = {**params, "consent_record": check_consent(conditioning_paths(params), consent=bool(args.consent))}
    on_progress(Progress(0, 0, "loading the model"))
    info, backend = load_backend_cached(args.model, args.device)
    cancel.check()
    recipe, fps, _, prompts = recipe_for(args, backend, preset)
    frames, result = run_recipe(backend, recipe, settings, preset=preset, on_step=on_progress, cancel=cancel)
    cancel.check()
    on_progress(Progress(1, 1, "writing the output"))
    written = write_atomically(output, frames, fps, result, recipe, backend.name)
    record_generation(params, info, recipe, result, settings, written, prompts)
    on_progress(Progress(1, 1, f"made with {info.name}"))  # the Jobs panel says which model ran
    return [str(path) for path in written]


def _minimal_argv(tool: str, params: dict) -> list[str]:
    sources = {"blend": ["first", "second"]}.get(tool, [] if tool == "generate" else ["video"])
    return [tool, *(params[name] for name in sources), "-o", params["output"]]


def load_backend_cached(model: str | None, device: str | None):
    from engine.generate.backends import load_backend
    from engine.generate.models import memory_override, resolve
    from engine.user_settings import device_override, load_settings

    info = resolve(model)
    settings = load_settings()
    device = device or device_override(settings)
    memory = memory_override(settings)
    key = (str(info.path), device, memory)
    with _backend_guard:
        if key not in _backend_cache:
            _backend_cache.clear()  # free the previous model before loading the next
            _backend_cache[key] = load_backend(info, device=device, memory=memory)
        return info, _backend_cache[key]


def write_atomically(output: Path, frames, fps: float, result, recipe, model_name: str) -> list[Path]:
    """Write into a hidden folder beside the output, then move each file into place: a crash
    leaves either no file or a whole one, never a truncated video at the output's name."""
    from engine.generate.run import write_output

    for stale in output.parent.glob(f".{output.stem}.*.partial"):  # left by a worker that was killed
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.stem}.", suffix=".partial", dir=output.parent))
    try:
        written = write_output(staging / output.name, frames, fps, result, recipe, model_name)
        final = []
        for path in sorted(staging.iterdir()):
            os.replace(path, output.parent / path.name)
        for path in written:
            final.append(output.parent / path.name)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def record_generation(params, info, recipe, result, settings, written, prompts) -> None:
    from engine.library.catalog import GenerationRecord, Library

    source = params.get("first") or params.get("video")
    parent_clip = source if isinstance(source, str) else (source or [None])[0]
    try:
        summary = recipe.plan.summary()
    except Exception:  # a summary is a convenience; the recipe is complete without it
        summary = {}
    library = Library()
    try:
        parent = library.generation_for_output(parent_clip) if parent_clip else None
        for i, path in enumerate(written):
            latents = path.with_suffix(".latents.safetensors")
            library.add_generation(GenerationRecord(
                tool=recipe.tool, output_path=str(path), prompts=prompts, plan_summary=_jsonable(summary),
                model_id=info.name, weights_hash=weights_hash(info.path), seeds=[result.seeds[i]]
                if len(written) == len(result.seeds) else list(result.seeds), settings=takes_of(settings, written, params),
                preset=params.get("preset"), latents_path=str(latents) if latents.exists() else None,
                parent_id=parent["id"] if parent else None, parent_clip=parent_clip))
    finally:
        library.close()


def takes_of(settings, written: list[Path], params: dict | None = None) -> dict:
    """The settings as recorded; variations also list every take, so the editor can offer them
    as alternatives of one clip; the consent check's result is kept with them."""
    recorded = asdict(settings)
    if params and params.get("consent_record"):
        recorded["consent"] = params["consent_record"]
    if len(written) > 1:
        recorded["takes"] = [str(path) for path in written]
    return recorded


def weights_hash(model_dir: Path) -> str:
    """A quick fingerprint of a model's weight files (content hash of each safetensors file)."""
    import hashlib

    from engine.media.thumbnails import content_hash

    digest = hashlib.sha256()
    for path in sorted(Path(model_dir).rglob("*.safetensors")):
        digest.update(path.relative_to(model_dir).as_posix().encode())
        digest.update(content_hash(str(path)).encode())
    return digest.hexdigest()[:32]


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
