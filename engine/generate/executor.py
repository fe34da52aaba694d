"""Running any request on any backend: the one path from a typed request to files on disk.

The CLI, the job queue (and so the editor) and a cluster worker all call `execute`: the
request is checked, its consent asked, the model loaded (kept loaded for the next job), the
request compiled to a plan through engine.generate.tools and compile(), the preset applied to
every prompt, the plan sampled, and the output written atomically with its provenance
manifest (inside the container and beside it), its latents and a library record holding the
request itself, so re-running the recipe reproduces the output.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from engine.generate.requests import Request, Variations
from engine.progress import CancelToken, Progress

# The worker runs one job at a time and jobs usually share a model: keep the last one loaded.
_backend_cache: dict[tuple, object] = {}
_backend_guard = threading.Lock()


def check_output(request: Request) -> Path:
    """The output path, refused before any work when its folder is missing or it is one of the
    request's own inputs (writing it would destroy the source)."""
    out = Path(request.output)  # its suffix was checked when the request was made
    from engine.fsutil import check_not_input, check_writable

    check_writable(out)
    check_not_input(str(out), request.inputs())
    return out


def load_backend_cached(model: str | None, device: str | None, cancel: CancelToken | None = None):
    """(ModelInfo, backend) for a model name or folder, with the user's device and memory settings."""
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
            _backend_cache[key] = load_backend(info, device=device, memory=memory, cancel=cancel)
        return info, _backend_cache[key]


def execute(request: Request, *, on_progress: Callable[[Progress], None] | None = None,
            cancel: CancelToken | None = None, warn: Callable[[str], None] | None = None) -> list[str]:
    """Run a request; returns the written files (one per variation)."""
    made = produce(request, on_progress=on_progress, cancel=cancel, warn=warn)
    record_generation(request, made)
    if on_progress is not None:
        on_progress(Progress(1, 1, f"made with {made['model']}"))  # the Jobs panel says which model ran
    return made["written"]


def produce(request: Request, *, on_progress: Callable[[Progress], None] | None = None,
            cancel: CancelToken | None = None, warn: Callable[[str], None] | None = None) -> dict:
    """Run a request and write its files, without the library record: what `execute` does on
    this machine and a cluster worker does on its own. Returns what the record needs, as JSON:
    model, weights hash, tool, plan summary, prompt spans, settings, consent, seeds, and the
    written files ("written")."""
    from engine.generate.presets import load_preset
    from engine.generate.run import run_recipe
    from engine.generate.window_store import remove as remove_windows
    from engine.generate.window_store import windows_folder
    from engine.safety.consent import check_consent

    report = on_progress or (lambda progress: None)
    cancel = cancel or CancelToken()
    output = check_output(request)
    request = plain_request(request)
    sampling = request.sampling
    preset = load_preset(sampling.preset) if sampling.preset else None
    report(Progress(0, 0, "looking for people in the conditioning media"))
    consent = check_consent(request.inputs(), consent=sampling.consent)
    if consent.get("warning") and warn is not None:
        warn(consent["warning"])
    report(Progress(0, 0, "loading the model"))
    info, backend = load_backend_cached(sampling.model, sampling.device, cancel)
    cancel.check()
    recipe = request.recipe(backend.caps)
    if preset is not None:
        recipe = replace(recipe, plan=preset.apply(recipe.plan))
    for note in recipe.notes:
        report(Progress(0, 0, note))
    if (chain := chain_note(recipe.plan, backend.caps)) is not None:
        report(Progress(0, 0, chain))
    settings = sampling.settings()
    # a long plan's finished windows are kept beside the output until it is written: the same job
    # run again after a crash resumes at the first window it had not finished
    windows = windows_folder(output)
    frames, result = run_recipe(backend, recipe, settings, preset=preset, on_step=on_progress, cancel=cancel,
                                windows_dir=windows)
    cancel.check()
    report(Progress(1, 1, "writing the output"))
    record = {"model": info.name, "weights_hash": weights_hash(info.path), "request": request.to_json()}
    written = write_outputs(output, frames, recipe, result, record, backend.name)
    remove_windows(windows)
    return {"model": info.name, "weights_hash": record["weights_hash"], "tool": recipe.tool,
            "plan_summary": recipe.plan.summary(),
            "prompts": [{"start": int(s), "stop": int(e), "text": t} for s, e, t in prompt_spans(recipe.plan)],
            "settings": asdict(settings), "consent": consent, "seeds": [int(s) for s in result.seeds],
            "written": [str(path) for path in written]}


def chain_note(plan, caps) -> str | None:
    """What a plan longer than the model makes at once becomes, for the user; None for one window."""
    from engine.generate.windows import window_layout

    windows = window_layout(plan.num_frames, caps)
    if len(windows) == 1:
        return None
    shared = windows[1].first_new_frame - windows[1].start
    return (f"{plan.num_frames} frames in {len(windows)} windows of at most {caps.frames_per_window} frames, each "
            f"continuing from the last {shared} frames of the one before")


def plain_request(request: Request) -> Request:
    """A Variations request as its base request with the variations' seed and count."""
    if not isinstance(request, Variations):
        return request
    sampling = request.sampling
    return replace(request.base, output=request.output, place=request.place,
                   sampling=replace(request.base.sampling, seed=sampling.seed, variations=sampling.variations))


def write_outputs(output: Path, frames, recipe, result, record: dict, model_name: str) -> list[Path]:
    """Write each variation atomically: .npy (F, H, W, 3) or (N, F, H, W, 3); .mp4 one file per
    variation (name-1.mp4, ...) with its provenance manifest in the container and beside it,
    and the latents (`.latents.safetensors`, bound to the video's content hash) when the video
    is exactly the generated frames."""
    import numpy as np

    from engine.fsutil import atomic_path
    from engine.generate.media_io import write_video
    from engine.generate.run import save_latents
    from engine.media import provenance

    fps = float(recipe.plan.rate.fps)
    signing = _signing(output)
    written: list[Path] = []
    if output.suffix.lower() == ".npy":
        with atomic_path(output) as temp, open(temp, "wb") as handle:
            np.save(handle, frames[0] if frames.shape[0] == 1 else frames)
        written.append(output)
        if recipe.is_plain:
            save_latents(output.with_suffix(".latents.safetensors"), result, recipe, model_name, None, output)
        return written
    for i, video in enumerate(frames):
        target = output if frames.shape[0] == 1 else output.with_name(f"{output.stem}-{i + 1}{output.suffix}")
        manifest = generation_manifest(recipe, record, result.seeds[i], video.shape[0])
        with atomic_path(target) as temp:
            sound = _sound_of(recipe, result, i, video.shape[0])
            write_video(temp, video, fps, metadata={provenance.TAG: _compact(manifest)}, **sound)
            if signing is not None:  # signed before it takes the output's name
                from engine.media import c2pa_sign

                c2pa_sign.sign(temp, manifest, *signing)
        provenance.write_sidecar(str(target), manifest)
        if recipe.is_plain:
            save_latents(target.with_suffix(".latents.safetensors"), result, recipe, model_name, i, target)
        else:  # stored latents of an older file of that name no longer match it
            target.with_suffix(".latents.safetensors").unlink(missing_ok=True)
        written.append(target)
    return written


def _sound_of(recipe, result, index: int, num_frames: int) -> dict:
    """What a model that makes sound made, as the output hears it: the generated sound when the
    output is the generated frames; else the original clip's sound where its frames are kept and
    the generated sound where frames are generated (engine.generate.sound_output)."""
    if result.audio is None:
        return {}
    if recipe.is_plain:
        return {"audio": result.audio[index], "sample_rate": result.audio_sample_rate}
    from engine.generate.sound_output import output_sound

    return {"audio": output_sound(recipe, result.audio[index], result.audio_sample_rate, num_frames),
            "sample_rate": result.audio_sample_rate}


def _signing(output: Path) -> tuple[bytes, bytes] | None:
    """The user's signing certificate and key when both are set (checked before any work)."""
    from engine.user_settings import load_settings

    settings = load_settings()
    if not (settings.sign_cert or settings.sign_key) or output.suffix.lower() != ".mp4":
        return None
    from engine.media import c2pa_sign

    return c2pa_sign.load_credentials(str(output), settings.sign_cert, settings.sign_key)


def generation_manifest(recipe, record: dict, seed: int, num_frames: int) -> dict:
    """The provenance manifest of a generated file, in the format `kinora render` writes: which
    frames are generated (model, weights, seed, prompts) and which come from the source clip.
    The full request stays in the library (it holds a snapshot of the timeline: too big to carry)."""
    from engine.version import kinora_version

    prompts = list(recipe.plan.prompts)
    generated = {"kind": "generated", "model": record["model"], "weights_hash": record["weights_hash"],
                 "seed": seed, "prompt": prompts[0] if len(prompts) == 1 else prompts, "tool": recipe.tool}
    captured = {"kind": "captured", "source": os.path.basename(recipe.original) if recipe.original else None}
    ranges, at = [], 0
    keep = recipe.keep or (0, recipe.plan.num_frames)
    for length, entry in ((len(recipe.before), captured), (keep[1] - keep[0], generated),
                          (len(recipe.after), captured)):
        if length:
            ranges.append({"frames": [at, at + length], **entry})
            at += length
    return {"generator": "Kinora", "version": kinora_version(), "rate": recipe.plan.rate.to_json(),
            "num_frames": num_frames, "ranges": ranges,
            "generated": [{"frames": r["frames"], "model": r["model"], "seed": r["seed"]}
                          for r in ranges if r["kind"] == "generated"]}


def record_generation(request: Request, made: dict) -> None:
    """One library record per written file: the request (the full recipe), the plan summary,
    model, weights, seed, and the takes made together. `made` is what `produce` returned."""
    from engine.library.catalog import GenerationRecord, Library

    request = plain_request(request)
    written = [Path(path) for path in made["written"]]
    inputs = request.inputs()
    parent_clip = inputs[0] if inputs and request.tool not in ("generate", "storyboard", "fill-gap") else None
    recorded = dict(made["settings"])
    recorded["request"] = request.to_json()
    recorded["consent"] = made["consent"]
    if len(written) > 1:
        recorded["takes"] = [str(path) for path in written]
    all_seeds = made["seeds"]
    library = Library()
    try:
        parent = library.generation_for_output(parent_clip) if parent_clip else None
        for i, path in enumerate(written):
            latents = path.with_suffix(".latents.safetensors")
            seeds = [all_seeds[i]] if len(written) == len(all_seeds) else list(all_seeds)
            library.add_generation(GenerationRecord(
                tool=made["tool"], output_path=str(path), prompts=made["prompts"], plan_summary=made["plan_summary"],
                model_id=made["model"], weights_hash=made["weights_hash"], seeds=seeds,
                settings={**recorded, "seed": seeds[0]}, preset=request.sampling.preset,
                latents_path=str(latents) if latents.exists() else None,
                parent_id=parent["id"] if parent else None, parent_clip=parent_clip))
    finally:
        library.close()


def prompt_spans(plan) -> list[tuple[int, int, str]]:
    """(start, stop, text) runs of the per-frame prompt, in the plan's own frames."""
    runs, start = [], 0
    for i in range(1, plan.num_frames + 1):
        if i == plan.num_frames or plan.pixel_prompt[i] != plan.pixel_prompt[start]:
            runs.append((start, i, plan.prompts[int(plan.pixel_prompt[start])]))
            start = i
    return runs


_weights_hashes: dict[tuple, str] = {}  # (folder, each weight file's name, size, mtime) -> fingerprint


def weights_hash(model_dir: Path) -> str:
    """A quick fingerprint of a model's weight files (content hash of each safetensors file),
    read once per model and kept while its files stay as they are: every job records it."""
    import hashlib

    from engine.fsutil import content_hash

    files = sorted(Path(model_dir).rglob("*.safetensors"))
    key = (str(model_dir), *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _weights_hashes:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(model_dir).as_posix().encode())
            digest.update(content_hash(str(path)).encode())
        _weights_hashes[key] = digest.hexdigest()[:32]
    return _weights_hashes[key]


def _compact(manifest: dict) -> str:
    import json

    return json.dumps(manifest, separators=(",", ":"))
