"""Running a request on a Ray cluster from the desktop: `run_request(address, key, request)`.

The desktop's queue stays the record of every job; the cluster only runs them. Each job (and
each variation of a job, so variations spread over the nodes) runs on a warm runner
(engine.cluster.runner): an actor holding one "kinora" slot of a node, which keeps its process
and its loaded model from job to job (engine.cluster.pool finds or starts one). Jobs never run
on the desktop unless the desktop itself offers such a slot. The request's files travel through
Ray's object store (engine.cluster.transport); the results come back as bytes and land beside the
output the user asked for, with the same library record a local run makes.

`key` names the job's parts; the queue derives it from the job, so a desktop restarted after a
crash finds the runners that have its jobs and collects what they finished meanwhile (or submits
again what the cluster lost: a runner whose node died takes its records with it). Progress is
polled from the runners every POLL_S; a cancel reaches them at the next poll and the job stops
at its next step.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.cluster.pool import NAMESPACE
from engine.cluster.runner import RESOURCE
from engine.errors import UserError
from engine.progress import CancelToken, JobCancelled, Progress

ENV = "KINORA_CLUSTER"
POLL_S = 0.2
PROBE_S = 3.0
MAX_LOST = 3  # runs of one part the cluster may lose (a node dying each time) before the job fails
FIND_S = 10.0  # how long a job looks for a runner that has it while some runner does not answer


class ClusterUnavailable(UserError):
    """The cluster cannot be reached now; the job waits and tries again."""


def cluster_address(option: str | None = None) -> str | None:
    """The Ray address to run jobs on: the command's --cluster, else KINORA_CLUSTER, else the
    user's setting; None (or "local") runs them on this machine."""
    if option is None:
        option = os.environ.get(ENV)
    if option is None:
        from engine.user_settings import load_settings

        option = load_settings().cluster
    option = (option or "").strip()
    return None if option in ("", "local") else option


_connected: str | None = None


def connect(address: str):
    """Ray, connected to the cluster at `address` (once per process)."""
    global _connected
    try:
        import ray
    except ImportError:
        raise UserError("running jobs on a cluster needs Ray: pip install 'kinora[cluster]' (or clear the "
                        "cluster setting to run jobs on this machine)") from None
    if ray.is_initialized():
        if _connected == address:
            return ray
        ray.shutdown()
    probe(address)
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.ERROR,
                 configure_logging=False)
    except Exception as error:  # ConnectionError, a timeout, or Ray's own errors: all mean "not now"
        raise ClusterUnavailable(f"cannot reach the Ray cluster at {address} ({_first_line(error)})") from None
    _connected = address
    return ray


def probe(address: str, timeout: float = PROBE_S) -> None:
    """Refuse at once an address nothing listens on (Ray itself retries for minutes)."""
    import socket

    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        if address == "auto":
            return
        raise UserError(f"cluster address {address!r}: give the head node's HOST:PORT, e.g. 10.0.0.5:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ClusterUnavailable(f"nothing answers at {address} ({error.strerror or error}); start the head "
                                 "node with `ray start --head` there, or check the address") from None


def disconnect() -> None:
    global _connected
    import ray

    from engine.cluster import pool

    if ray.is_initialized():
        ray.shutdown()
    _connected = None
    pool.reset()


@dataclass
class _Part:
    """One runner's share of a job: the whole request, or one variation of it."""

    name: str
    request: object
    runner: object = None
    submit_ref: object = None  # a runner's answer to taking this part, still on the way
    searching: bool = True  # looking first for a runner that has it (a desktop after a restart)
    search_until: float = 0.0
    status: dict | None = None
    lost: int = 0
    result: dict | None = None  # what the runner made, collected as soon as it finished
    windows_known: dict = field(default_factory=dict)  # tokens of the runner's window files held here
    windows_asked: object = None  # the runner's answer to "which windows are new", still on the way
    windows_sent: tuple | None = None  # (the window files held here, their object-store reference)
    notes: list = field(default_factory=list)  # the runner's messages since the last poll


def run_request(address: str, key: str, request, *, on_progress: Callable[[Progress], None] | None = None,
                cancel: CancelToken | None = None, on_node: Callable[[list[str]], None] | None = None) -> list[str]:
    """Run `request` on the cluster and write its outputs and library records here; returns
    the written files, as `engine.generate.executor.execute` does."""
    from engine.cluster import pool, transport
    from engine.generate.executor import check_output, plain_request, record_generation
    from engine.generate.window_store import remove as remove_windows
    from engine.generate.window_store import windows_folder

    ray = connect(address)
    cancel = cancel or CancelToken()
    report = on_progress or (lambda progress: None)
    check_output(request)
    plain = plain_request(request)
    expect = model_expectation(plain)
    kind = pool.kind_of(actor_options(plain))
    parts = [_Part(f"kinora-job-{key}.{i + 1}", r, search_until=time.monotonic() + FIND_S)
             for i, r in enumerate(split_variations(plain))]
    nodes: list[str] = []
    try:
        packed = {part.name: transport.pack(part.request, expect["model"]) for part in parts}
        # In the object store once; a list keeps Ray from fetching them for a runner that is busy.
        files = {name: [ray.put(p.files)] for name, p in packed.items()}
        while True:
            if cancel.cancelled:
                _ask_to_cancel(parts)
            for part in parts:
                if part.result is None:
                    job_files = files[part.name] + _windows_ref(ray, part)
                    _advance(ray, part, (packed[part.name].request_json, job_files, expect), expect, kind)
                    _collect(ray, part)
            seen = [p.status["node"] for p in parts if p.status and p.status["state"] in _PLACED]
            if seen != nodes:
                nodes = seen
                if on_node is not None:
                    on_node(sorted(set(nodes)))
            combined = _combined(parts)
            for part in parts:  # the messages a poll would skip over, in order (each part's own)
                for note in part.notes[:-1]:
                    report(Progress(combined.step, combined.total, note))
                part.notes = []
            report(combined)
            if all(p.result is not None for p in parts):
                break
            time.sleep(POLL_S)
        results = [part.result for part in parts]
    except JobCancelled:
        raise
    except UserError:
        _release(parts)
        raise
    except Exception as error:  # the connection went away: the job waits for the cluster
        disconnect()
        raise ClusterUnavailable(f"lost the Ray cluster at {address} ({_first_line(error)})") from None
    failed = [r for r in results if r["state"] == "failed"]
    if failed:
        _release(parts)
        raise UserError(failed[0]["error"])
    if any(r["state"] == "cancelled" for r in results):
        _release(parts)
        raise JobCancelled(cancel.reason or "cancelled")
    made = None
    for result in results:
        delivered = transport.deliver(result["files"], result["made"], request.output)
        if made is None:
            made = delivered
        else:
            made = {**made, "written": made["written"] + delivered["written"], "seeds": made["seeds"] + delivered["seeds"]}
    if len(parts) > 1:
        made["settings"] = {**made["settings"], "seed": plain.sampling.seed, "variations": len(parts)}
    record_generation(request, made)
    for part in parts:  # delivered: the windows kept for a resume go, as a local run's do
        remove_windows(windows_folder(Path(part.request.output)))
    _release(parts)  # only now: a desktop that dies before this point collects the results again
    report(Progress(1, 1, f"made with {made['model']} on {', '.join(sorted(set(nodes)))}"))
    return made["written"]


_PLACED = ("running", "done", "failed", "cancelled")
_WAITING = {"state": "waiting", "node": "", "step": 0, "total": 0,
            "message": "waiting for a cluster node with a free Kinora slot", "preview": None}


def _ask_to_cancel(parts: list[_Part]) -> None:
    """Tell the runners of unfinished parts (again every poll: a runner's threads may see a cancel
    before the submit it follows); parts no runner has yet end cancelled here."""
    for part in parts:
        if part.result is not None:
            continue
        if part.runner is None:
            part.result = {"state": "cancelled"}
            part.status = {**_WAITING, "state": "cancelled", "message": "cancelled"}
        else:
            try:
                part.runner.cancel.remote(part.name)
            except Exception:  # the runner is gone; the part ends when that is noticed
                pass


def _collect(ray, part: _Part) -> None:
    """Take a finished part's result (the runner is free for the next job already; it keeps the
    result until the whole job is delivered)."""
    if part.result is None and part.status and part.status["state"] in ("done", "failed", "cancelled"):
        part.result = ray.get(part.runner.result.remote(part.name), timeout=600)


def split_variations(request) -> list:
    """One request per variation (seed after seed, each written as the take a local run writes:
    name-1.mp4, name-2.mp4, ...), so they spread over the nodes; the request itself when it has
    one variation or writes one .npy array of all of them."""
    sampling = request.sampling
    if sampling.variations == 1 or request.output.lower().endswith(".npy"):
        return [request]
    stem, suffix = os.path.splitext(request.output)
    return [replace(request, output=f"{stem}-{i + 1}{suffix}",
                    sampling=replace(sampling, seed=sampling.seed + i, variations=1))
            for i in range(sampling.variations)]


def model_expectation(request) -> dict:
    """The model by name and weights fingerprint when this machine has it (a folder here means
    nothing on a worker); the name as given otherwise."""
    from engine.errors import KinoraError
    from engine.generate.executor import weights_hash
    from engine.generate.models import resolve

    try:
        info = resolve(request.sampling.model)
    except KinoraError:
        return {"model": request.sampling.model, "weights_hash": None}
    return {"model": info.name, "weights_hash": weights_hash(info.path)}


def actor_options(request) -> dict:
    """Where a job may run: a node offering a Kinora slot, with a GPU unless the job runs on
    the CPU (--device cpu, or the bundled model, which is small enough for any node)."""
    from engine.errors import KinoraError
    from engine.generate.models import RESOURCES, resolve

    try:
        bundled = resolve(request.sampling.model).path.resolve().is_relative_to(RESOURCES)
    except KinoraError:
        bundled = False
    on_cpu = request.sampling.device == "cpu" or bundled
    return {"num_cpus": 1, "num_gpus": 0 if on_cpu else 1, "resources": {RESOURCE: 1}}


def _advance(ray, part: _Part, submit_args: tuple, expect: dict, kind: str) -> None:
    """Move one part on: find the runner that has it, give it to an idle one, or note it lost."""
    from ray import exceptions

    from engine.cluster import pool

    if part.runner is None:
        if part.searching:
            found, complete = pool.find(ray, part.name)
            if found is not None or complete or time.monotonic() > part.search_until:
                part.searching = False
                part.runner = found
        if part.runner is None and not part.searching:
            taken = pool.acquire(ray, kind, expect["model"], part.name, submit_args)
            if taken is not None:
                part.runner, part.submit_ref = taken
        if part.runner is None:
            part.status = dict(_WAITING)
            return
    try:
        if part.submit_ref is not None:
            ready, _ = ray.wait([part.submit_ref], timeout=0)
            if not ready:
                return
            outcome, part.submit_ref = ray.get(part.submit_ref), None
            if outcome not in ("started", "known"):  # another job took that runner first
                part.runner, part.status = None, dict(_WAITING)
                return
        status = ray.get(part.runner.status.remote(part.name, True), timeout=pool.ANSWER_S)
    except exceptions.GetTimeoutError:  # a busy node answers late: keep what it said last
        return
    except exceptions.ActorUnavailableError:  # unreachable for a moment; dead ones say so next
        return
    except exceptions.ActorDiedError:  # its node died: the part runs again on another runner
        part.lost += 1
        if part.lost > MAX_LOST:
            raise UserError(f"the cluster lost this job {part.lost} times (nodes died); run it again or on "
                            "this machine") from None
        _unplace(part)
        return
    if status["state"] in ("unknown", "lost"):  # the runner dropped it, or its files were lost: again
        _unplace(part)
        return
    _keep_windows(ray, part)
    part.notes = status.pop("notes", None) or []
    part.status = status


def _unplace(part: _Part) -> None:
    """The part's runner no longer has it: it waits for another (taking the windows held here)."""
    part.runner, part.submit_ref, part.status = None, None, dict(_WAITING)
    part.windows_known, part.windows_asked = {}, None


def _keep_windows(ray, part: _Part) -> None:
    """Write the windows the runner committed since it was last asked into this machine's windows
    folder for the part's output (engine.cluster.window_relay), where a local run keeps them. The
    question runs beside the progress polls: a large window on a slow link never holds them up."""
    from ray import exceptions

    from engine.cluster import window_relay
    from engine.generate.window_store import windows_folder

    if part.windows_asked is not None:
        ready, _ = ray.wait([part.windows_asked], timeout=0)
        if not ready:
            return
        try:
            answer = ray.get(part.windows_asked)
        except exceptions.RayActorError:  # gone: the next status poll says so
            answer = None
        part.windows_asked = None
        if answer is not None:
            if answer["content"]:
                window_relay.accept(windows_folder(Path(part.request.output)), answer["content"])
            part.windows_known = answer["tokens"]
    part.windows_asked = part.runner.windows.remote(part.name, part.windows_known)


def _windows_ref(ray, part: _Part) -> list:
    """The windows this machine holds for the part's output, in the object store (once while they
    stay the same), to travel with the part when it is given to a runner; none while a runner has it."""
    from engine.cluster import window_relay
    from engine.generate.window_store import windows_folder

    if part.runner is not None:
        return []
    folder = windows_folder(Path(part.request.output))
    held = window_relay.tokens(folder)
    if not held:
        return []
    if part.windows_sent is None or part.windows_sent[0] != held:
        part.windows_sent = (held, ray.put(window_relay.outgoing(folder)))
    return [part.windows_sent[1]]


def _combined(parts: list[_Part]) -> Progress:
    statuses = [p.status or {} for p in parts]
    if not any(s.get("total") for s in statuses):
        message = next((s.get("message") for s in statuses if s.get("message")), "submitted to the cluster")
        return Progress(0, 0, message)
    step = sum(int(s.get("step") or 0) for s in statuses)
    total = sum(max(int(s.get("total") or 0), 1) for s in statuses)
    message = next((s["message"] for s in statuses if s.get("message")), "")
    preview = next((s["preview"] for s in statuses if s.get("preview") is not None), None)
    return Progress(step, total, message, preview)


def _release(parts: list[_Part]) -> None:
    """The job is over here: its runners may drop their records of it."""
    from engine.cluster import pool

    for part in parts:
        if part.runner is not None:
            pool.forget(part.runner, part.name)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
