"""Which function runs each kind of job.

A handler is `handler(params, on_progress, cancel) -> outputs`: `params` is the job's JSON
dict, `on_progress(Progress)` reports each step (and is where a cancel request from another
process is noticed), `cancel` is the job's CancelToken, checked every step, and `outputs` is a
JSON-able list (usually the written file paths).

While a handler only loads a model or waits, it reports `Progress(0, 0, what)`; its first
report with `total > 0` says its own work (sampling, decoding, exporting) has begun. The
queue counts a worker crash against the job only from then on (engine/jobs/queue.py).
`render` jobs run in the worker's render lane, every other kind in its generation lane.

Built-in handlers are named as "module:function" and imported only when a job of that kind
runs, so starting the worker or the CLI imports no torch.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

from engine.errors import UserError
from engine.generate.requests import REQUEST_TYPES
from engine.progress import CancelToken, Progress

Handler = Callable[[dict, Callable[[Progress], None], CancelToken], list]


# the kinds of typed requests (engine.generate.requests), and "timeline" as older Kinoras queued storyboards
AI_TOOLS = (*(request.TOOL for request in REQUEST_TYPES.values()), "timeline")
_BUILT_IN: dict[str, str] = {
    **dict.fromkeys(AI_TOOLS, "engine.jobs.request_job:run_request_job"),
    "render": "engine.jobs.render_job:run_render_job",
}
_REGISTERED: dict[str, Handler] = {}
# kind -> function(params) -> params needing less memory, or None (offered after out of memory)
_LOWER_SETTINGS: dict[str, str] = dict.fromkeys(AI_TOOLS, "engine.jobs.request_job:lower_settings")


def register(kind: str, handler: Handler) -> None:
    """Add or replace the handler of a kind in this process (the editor and plug-ins use this)."""
    _REGISTERED[kind] = handler


def handler_for(kind: str) -> Handler:
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    target = _BUILT_IN.get(kind)
    if target is None:
        raise UserError(f"job kind {kind!r} cannot run in this version of Kinora (it runs: "
                        f"{', '.join(sorted({*_BUILT_IN, *_REGISTERED}))})")
    module_name, _, function = target.partition(":")
    handler = getattr(importlib.import_module(module_name), function)
    return functools.partial(handler, kind=kind) if kind in AI_TOOLS else handler

def lower_settings(kind: str, params: dict) -> dict | None:
    """The params of a job with settings that need less memory, or None when there are none."""
    target = _LOWER_SETTINGS.get(kind)
    if target is None:
        return None
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)(params, kind)
