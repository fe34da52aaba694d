"""The AI jobs: a typed request (engine.generate.requests) run by the executor, with progress,
cancel, crash-safe output files and a library record of the full recipe.

A job's params are `{"request": <request JSON>}`; its kind is the request's tool. Jobs queued
by a Kinora from before typed requests (the options of `kinora generate|extend|...`, or a
timeline job's project copy) are upgraded here when they run, or fail with a clear message.
"""

from __future__ import annotations

from engine.errors import UserError
from engine.progress import CancelToken

RESOLUTION_STEPS = ("1080p", "720p", "480p")
LEGACY_TOOLS = ("generate", "extend", "loop", "blend", "remix", "upscale")


def job_params(request) -> dict:
    return {"request": request.to_json()}


def request_of(kind: str, params: dict):
    """The typed request of a queued job (upgrading one queued by an older Kinora)."""
    from engine.generate.requests import request_from_json

    if "request" in params:
        return request_from_json(params["request"], f"job ({kind})")
    if kind == "timeline":
        return _legacy_timeline(params)
    if kind in LEGACY_TOOLS:
        return _legacy_tool(kind, params)
    raise UserError(f"this {kind} job was queued by another version of Kinora and cannot be read; queue it again")


def describe(kind: str, params: dict) -> str:
    """A short human title of a job: its tool and prompt ("extend: a red circle ...")."""
    request = params.get("request") if isinstance(params.get("request"), dict) else params
    if request.get("schema", "").startswith("Variations."):
        request = request.get("base") or {}
    text = str(request.get("prompt") or "")
    if not text:
        spans = request.get("prompts_at") or request.get("prompt_at") or []
        text = "; ".join(str(s.get("text", "")) if isinstance(s, dict) else str(s) for s in spans)
    if not text and (isinstance(request.get("project"), dict) or isinstance(request.get("timeline"), dict)):
        text = "the marked range of the timeline"
    title = f"{kind}: {text}" if text else kind
    return title if len(title) <= 60 else title[:59] + "…"


def run_request_job(params: dict, on_progress, cancel: CancelToken, *, kind: str = "") -> list[str]:
    from engine.generate.executor import execute

    return execute(request_of(kind, params), on_progress=on_progress, cancel=cancel)


def lower_settings(params: dict, kind: str = "") -> dict | None:
    """A job's params with settings that need less memory: one variation, then a lower
    resolution, then fewer frames. None when there is nothing left to lower."""
    from dataclasses import replace

    request = request_of(kind, params)
    sampling, size = request.sampling, request.size
    if sampling.variations > 1:
        return job_params(request.with_sampling(variations=1))
    if size.width:
        w, h = size.width * 3 // 4 // 32 * 32, size.height * 3 // 4 // 32 * 32
        if w >= 64 and h >= 64:
            return job_params(replace(request, size=replace(size, width=w, height=h)))
    elif size.resolution in RESOLUTION_STEPS[:-1]:
        lower = RESOLUTION_STEPS[RESOLUTION_STEPS.index(size.resolution) + 1]
        return job_params(replace(request, size=replace(size, resolution=lower)))
    frames = getattr(request, "frames", None)
    if isinstance(frames, int) and frames > 17:
        return job_params(replace(request, frames=frames * 3 // 4))
    duration = getattr(request, "duration", None)
    if duration and duration > 1:
        return job_params(replace(request, duration=round(duration * 0.75, 2)))
    return None


def _legacy_tool(kind: str, params: dict):
    """A job queued as `kinora <tool>` options (before typed requests), as the request it meant."""
    import argparse

    from engine.generate.cli import register, request_from_args

    parser = argparse.ArgumentParser(add_help=False)
    register(parser.add_subparsers(dest="command"))
    sources = {"blend": ["first", "second"]}.get(kind, [] if kind == "generate" else ["video"])
    try:
        defaults = vars(parser.parse_args([kind, *(str(params[name]) for name in sources), "-o", params["output"]]))
    except (KeyError, SystemExit):
        raise UserError(f"this {kind} job was queued by an older Kinora and misses its files; queue it again") from None
    values = {**defaults, **params, "command": kind}
    values.setdefault("prompt_option", None)
    if kind == "blend" and values.get("curve") == "transition":
        values["curve"] = None
    return request_from_args(argparse.Namespace(**values))


def _legacy_timeline(params: dict):
    from engine.generate.requests import Sampling, Size, Storyboard, TimelineRef

    try:
        start, stop = params["range"]
        if params.get("aspect"):
            size = Size(aspect=params["aspect"], resolution=params.get("resolution") or "480p")
        elif params.get("model_size"):
            size = Size()
        else:
            settings = params["project"].get("settings", {})
            size = Size(width=settings.get("width"), height=settings.get("height"))
        sampling = Sampling(seed=params.get("seed", 0), variations=params.get("variations", 1),
                            steps=params.get("steps"), guidance=params.get("guidance"), preset=params.get("preset"),
                            model=params.get("model"), device=params.get("device"),
                            consent=bool(params.get("consent")))
        return Storyboard(output=params["output"], sampling=sampling, size=size, start=start, stop=stop,
                          timeline=TimelineRef(project=params["project"], base_dir=params["base_dir"]))
    except (KeyError, TypeError, ValueError):
        raise UserError("this timeline job was queued by an older Kinora and cannot be read; queue it again") from None
