"""The `render` job: export a copy of the project to a video file on the worker thread, with
progress and cancel, like every other long task."""

from __future__ import annotations

from engine.progress import CancelToken


def render_params(project, output: str, *, codec: str | None = None, crf: int | None = None, preset: str = "medium",
                  frame_range=None, audio: bool = True, ai_badge: bool = False, sign_cert: str | None = None,
                  sign_key: str | None = None, size: tuple[int, int] | None = None, rate=None) -> dict:
    import os

    from engine.model.serialize import project_to_dict

    base_dir = os.path.dirname(project.path) if project.path else os.getcwd()
    return {"project": project_to_dict(project, base_dir), "base_dir": base_dir, "project_path": project.path,
            "output": os.path.abspath(output), "codec": codec, "crf": crf, "preset": preset,
            "range": [frame_range.start, frame_range.stop] if frame_range is not None else None, "audio": audio,
            "ai_badge": ai_badge, "sign_cert": _absolute(sign_cert), "sign_key": _absolute(sign_key),
            "size": list(size) if size is not None else None, "rate": rate.to_json() if rate is not None else None}


def run_render_job(params: dict, on_progress, cancel: CancelToken) -> list[str]:
    from engine.media.export import RenderSettings, export
    from engine.model.serialize import project_from_dict
    from engine.time import FrameRange, FrameRate

    project = project_from_dict(params["project"], params["base_dir"])
    project.path = params.get("project_path")  # so the export refuses to overwrite the project file
    frames = FrameRange(*params["range"]) if params.get("range") else None
    settings = RenderSettings(codec=params.get("codec"), crf=params.get("crf"), preset=params.get("preset", "medium"),
                              frame_range=frames, audio=params.get("audio", True),
                              ai_badge=params.get("ai_badge", False), sign_cert=params.get("sign_cert"),
                              sign_key=params.get("sign_key"),
                              size=tuple(params["size"]) if params.get("size") else None,
                              rate=FrameRate.parse(params["rate"]) if params.get("rate") else None)
    return [export(project, params["output"], settings, on_progress=on_progress, check_cancel=cancel.check)]


def _absolute(path: str | None) -> str | None:
    import os

    return os.path.abspath(path) if path else None
