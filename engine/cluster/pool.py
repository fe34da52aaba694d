"""The desktop's view of the warm runners on a cluster (engine.cluster.runner): finding the one
that has a job, and giving a job to an idle one, starting a runner where a node slot is free.

Runners are shared by every desktop using the cluster; nothing here is authoritative but the
runners themselves: `submit` on a runner is what claims it, so two desktops (or two jobs of one)
never get the same runner for two jobs. A runner is of one kind, "cpu" or "gpu" (the resources it
holds, as the job needs them); an idle runner of the other kind gives its slot up when a job
finds no free slot. A runner that answers nothing for QUIET_S (started where no slot was free
after all, or stuck) is ended, so it cannot hold a slot name forever.
"""

from __future__ import annotations

import threading
import time

from engine.cluster.runner import RESOURCE, SlotRunner

NAMESPACE = "kinora"
PREFIX = "kinora-runner-"
ANSWER_S = 2.0  # how long a placed runner may take to answer a quick question
SNAPSHOT_S = 0.2  # jobs waiting for a runner share one look at them per poll
START_S = 120.0  # a new runner's process start (imports, on a busy node) before it is given up
QUIET_S = 120.0

_guard = threading.Lock()
_handles: dict[str, object] = {}  # runner name -> actor handle
_starting: dict[str, tuple[object, float]] = {}  # runners this process started: name -> (ready ref, since)
_quiet_since: dict[str, float] = {}
# one look at the runners and the cluster's slots: (when, runner descriptions, free resources, all slots)
_snapshot: tuple[float, dict[str, dict], dict, float] = (0.0, {}, {}, 0.0)


def kind_of(options: dict) -> str:
    return "gpu" if options.get("num_gpus") else "cpu"


def runner_options(kind: str) -> dict:
    return {"num_cpus": 1, "num_gpus": 1 if kind == "gpu" else 0, "resources": {RESOURCE: 1}}


def reset() -> None:
    """Forget the handles (after a disconnect: they belong to the old connection)."""
    global _snapshot
    with _guard:
        _handles.clear()
        _starting.clear()
        _quiet_since.clear()
        _snapshot = (0.0, {}, {}, 0.0)


def drop(name: str) -> None:
    """A runner died (its node with it): forget it."""
    with _guard:
        _handles.pop(name, None)
        _starting.pop(name, None)
        _quiet_since.pop(name, None)


def runners(ray) -> dict[str, object]:
    """Every live runner on the cluster, by name."""
    names = [name for name in ray.util.list_named_actors() if name.startswith(PREFIX)]
    found = {}
    for name in names:
        handle = _handles.get(name)
        if handle is None:
            try:
                handle = _handles[name] = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:  # ended meanwhile
                continue
        found[name] = handle
    return found


def _ask_all(ray, calls: dict[str, object]) -> dict[str, object]:
    """The answers of the calls that came within ANSWER_S, by runner name; runners found dead are dropped."""
    from ray import exceptions

    if not calls:
        return {}
    ready, _ = ray.wait(list(calls.values()), num_returns=len(calls), timeout=ANSWER_S)
    ready = set(ready)
    answers = {}
    for name, ref in calls.items():
        if ref not in ready:
            continue
        try:
            answers[name] = ray.get(ref)
        except exceptions.RayActorError:
            drop(name)
    return answers


def find(ray, job_name: str) -> tuple[object | None, bool]:
    """The runner that has (or had) `job_name`, and whether every runner answered (when one did
    not, the job may be on it: the caller asks again before submitting the job anew)."""
    with _guard:
        live = runners(ray)
    answers = _ask_all(ray, {name: handle.status.remote(job_name) for name, handle in live.items()})
    for name, status in answers.items():
        if status["state"] not in ("unknown", "lost"):
            return live[name], True
    return None, len(answers) == len(live)


def acquire(ray, kind: str, model: str | None, job_name: str, submit_args: tuple):
    """Give `job_name` to an idle runner of `kind` (one that has `model` loaded first): returns
    (runner, None) when it took the job, (runner, ref) when its answer is still on the way (the
    caller waits for `ref`), or None when no runner is free now (one may be starting)."""
    global _snapshot
    from ray import exceptions

    with _guard:
        now = time.monotonic()
        live = runners(ray)
        seen_at, described, available, slots = _snapshot
        if now - seen_at > SNAPSHOT_S:
            described = _ask_all(ray, {name: handle.describe.remote() for name, handle in live.items()})
            available, slots = ray.available_resources(), ray.cluster_resources().get(RESOURCE, 0)
            _snapshot = (time.monotonic(), described, available, slots)
            _end_quiet(ray, live, described, now)
        idle = [name for name, about in described.items()
                if name in live and about["kind"] == kind and not about["busy"] and not about["retired"]]
        idle.sort(key=lambda name: described[name]["model"] != model)
        for name in idle:
            ref = live[name].submit.remote(job_name, *submit_args)
            ready, _ = ray.wait([ref], timeout=ANSWER_S)
            if not ready:
                return live[name], ref
            try:
                outcome = ray.get(ref)
            except exceptions.RayActorError:
                drop(name)
                continue
            if outcome in ("started", "known"):
                described[name] = {**described[name], "busy": True}
                return live[name], None
        _start_runner(ray, kind, live, described, available, slots, now)
        return None


def _start_runner(ray, kind: str, live: dict, described: dict, available: dict, slots: float, now: float) -> None:
    """Start a runner of `kind` where a node slot is free, or free a slot an idle runner of the
    other kind holds; nothing while one this process started is still starting."""
    for name, (ready_ref, since) in list(_starting.items()):
        done, _ = ray.wait([ready_ref], timeout=0)
        if done:
            del _starting[name]
        elif now - since > START_S:  # placed nowhere (no free slot after all) or stuck: give it up
            _kill(ray, name, _handles.get(name))
        elif name.startswith(f"{PREFIX}{kind}-"):
            return
    free = available.get(RESOURCE, 0) >= 1 and (kind == "cpu" or available.get("GPU", 0) >= 1)
    if free and len(live) < slots:
        index = 0
        while f"{PREFIX}{kind}-{index}" in live:
            index += 1
        name = f"{PREFIX}{kind}-{index}"
        handle = ray.remote(SlotRunner).options(
            name=name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True, max_restarts=0,
            max_concurrency=4, **runner_options(kind)).remote(kind)
        _handles[name] = handle
        _starting[name] = (handle.describe.remote(), now)
        return
    if not free:
        others = [name for name, about in described.items()
                  if about["kind"] != kind and not about["busy"] and name in live]
        for name in others:
            try:
                retired = ray.get(live[name].retire.remote(), timeout=ANSWER_S)
            except Exception:  # gone or slow: another one, or the next poll
                continue
            if retired:
                _kill(ray, name, live[name])
                return


def _end_quiet(ray, live: dict, described: dict, now: float) -> None:
    for name, handle in live.items():
        if name in described or name in _starting:
            _quiet_since.pop(name, None)
            continue
        since = _quiet_since.setdefault(name, now)
        if now - since > QUIET_S:
            _kill(ray, name, handle)


def _kill(ray, name: str, handle) -> None:
    if handle is not None:
        try:
            ray.kill(handle)
        except Exception:  # already gone
            pass
    _handles.pop(name, None)
    _starting.pop(name, None)
    _quiet_since.pop(name, None)


def forget(runner, job_name: str) -> None:
    """The job's result is delivered: the runner may drop it."""
    try:
        runner.forget.remote(job_name)
    except Exception:  # the runner is gone: nothing to drop
        pass


def jobs_on_cluster(ray) -> dict[str, list[str]]:
    """The jobs each runner keeps a record of, by runner name (for tests and diagnostics)."""
    with _guard:
        live = runners(ray)
    return _ask_all(ray, {name: handle.jobs.remote() for name, handle in live.items()})


def describe_runners(ray) -> dict[str, dict]:
    with _guard:
        live = runners(ray)
    return _ask_all(ray, {name: handle.describe.remote() for name, handle in live.items()})
