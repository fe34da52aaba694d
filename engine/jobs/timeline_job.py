"""The `timeline` job: generate a range of a project's timeline, its storyboard.

The job carries a copy of the project (as the project file would hold it) so it means the
same thing after a restart, whatever the user edits meanwhile. Prompt blocks condition their
own frames, stills and clips are held where they sit by their influence curves: the plan
comes from engine.generate.compiler, like every other tool's.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import UserError
from engine.progress import CancelToken, Progress


def timeline_params(project, frame_range, *, output: str, aspect: str | None = None, resolution: str = "480p",
                    variations: int = 1, seed: int = 0, steps: int | None = None, guidance: float | None = None,
                    preset: str | None = None, model: str | None = None, device: str | None = None,
                    consent: bool = False, model_size: bool = False) -> dict:
    """JSON params for a timeline job over `frame_range` of `project`. Without `aspect` the
    video has the project's size (rounded to what the model accepts), or with `model_size` the
    size the model was made for."""
    import os

    from engine.model.serialize import project_to_dict

    base_dir = os.path.dirname(project.path) if project.path else os.getcwd()
    return {"project": project_to_dict(project, base_dir), "base_dir": base_dir,
            "range": [frame_range.start, frame_range.stop], "output": output, "aspect": aspect,
            "resolution": resolution, "variations": variations, "seed": seed, "steps": steps, "guidance": guidance,
            "preset": preset, "model": model, "device": device, "consent": consent, "model_size": model_size}


def run_timeline_job(params: dict, on_progress, cancel: CancelToken) -> list[str]:
    from engine.generate.compiler import compile as compile_plan
    from engine.generate.run import check_output, run_recipe
    from engine.generate.settings import SamplingSettings, choose_size
    from engine.generate.tools import Recipe, load_preset
    from engine.jobs.generate_job import load_backend_cached, record_generation, write_atomically
    from engine.model.serialize import project_from_dict
    from engine.safety.consent import check_consent
    from engine.time import FrameRange

    output = check_output(params["output"])
    project = project_from_dict(params["project"], params["base_dir"])
    start, stop = params["range"]
    if stop <= start:
        raise UserError("the marked range is empty: set an in and an out mark around what to generate")
    preset = load_preset(params["preset"]) if params.get("preset") else None
    settings = SamplingSettings(steps=params.get("steps"), guidance=params.get("guidance"), seed=params.get("seed", 0),
                                variations=params.get("variations", 1))
    on_progress(Progress(0, 0, "loading the model"))
    info, backend = load_backend_cached(params.get("model"), params.get("device"))
    cancel.check()
    caps = backend.caps
    if params.get("aspect"):
        size = {"aspect": params["aspect"], "resolution": params.get("resolution", "480p")}
    elif params.get("model_size"):
        size = {}  # the model's own size when it declares one
    else:
        size = {"width": project.settings.width, "height": project.settings.height}
    chosen = choose_size(caps, num_frames=stop - start, **size)
    frames = FrameRange(start, start + chosen.num_frames)
    plan = compile_plan(project, frames, caps, width=chosen.width, height=chosen.height)
    params = {**params, "consent_record": check_consent([source.path for source in plan.sources],
                                                        consent=bool(params.get("consent")))}
    notes = (f"generating {chosen.note} from frame {start}",)
    recipe = Recipe(plan=plan, tool="storyboard", notes=notes)
    on_progress(Progress(0, 0, notes[0]))
    frames_out, result = run_recipe(backend, recipe, settings, preset=preset, on_step=on_progress, cancel=cancel)
    cancel.check()
    on_progress(Progress(1, 1, "writing the output"))
    written = write_atomically(Path(output), frames_out, float(project.rate.fps), result, recipe, backend.name)
    prompts = [{"start": int(s), "stop": int(e), "text": t} for s, e, t in _spans(plan)]
    record_generation(params, info, recipe, result, settings, written, prompts)
    on_progress(Progress(1, 1, f"made with {info.name}"))  # the Jobs panel says which model ran
    return [str(path) for path in written]


def _spans(plan):
    """(start, stop, text) runs of the per-frame prompt, in the plan's own frames."""
    runs, start = [], 0
    for i in range(1, plan.num_frames + 1):
        if i == plan.num_frames or plan.pixel_prompt[i] != plan.pixel_prompt[start]:
            runs.append((start, i, plan.prompts[int(plan.pixel_prompt[start])]))
            start = i
    return runs
