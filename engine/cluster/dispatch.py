"""Running a request on a Ray cluster from the desktop: `run_request(address, key, request)`.

The desktop's queue stays the record of every job; the cluster only runs them. Each job (and
each variation of a job, so variations spread over the nodes) runs in its own detached actor
(engine.cluster.runner) on a node offering the "kinora" resource, never on the desktop unless
the desktop itself is such a node. The request's files travel through Ray's object store
(engine.cluster.transport); the results come back as bytes and land beside the output the user
asked for, with the same library record a local run makes.

`key` names the job's actors; the queue derives it from the job, so a desktop restarted after a
crash finds the actors of its jobs again and collects what they finished meanwhile (or submits
again what the cluster lost). Progress is polled from the actors every POLL_S; a cancel reaches
them at the next poll and the job stops at its next step.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.cluster.runner import RESOURCE, JobRunner
from engine.errors import UserError
from engine.progress import CancelToken, JobCancelled, Progress

NAMESPACE = "kinora"
ENV = "KINORA_CLUSTER"
POLL_S = 0.2
PROBE_S = 3.0
MAX_LOST = 3  # actors of one job the cluster may lose (a node dying each time) before the job fails


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

    if ray.is_initialized():
        ray.shutdown()
    _connected = None


@dataclass
class _Part:
    """One actor's share of a job: the whole request, or one variation of it."""

    name: str
    request: object
    actor: object = None
    ref: object = None
    status: dict | None = None
    lost: int = 0
    result: dict | None = None  # what the actor made, collected as soon as it finished


def run_request(address: str, key: str, request, *, on_progress: Callable[[Progress], None] | None = None,
                cancel: CancelToken | None = None, on_node: Callable[[list[str]], None] | None = None) -> list[str]:
    """Run `request` on the cluster and write its outputs and library records here; returns
    the written files, as `engine.generate.executor.execute` does."""
    from engine.cluster import transport
    from engine.generate.executor import check_output, plain_request, record_generation

    ray = connect(address)
    cancel = cancel or CancelToken()
    report = on_progress or (lambda progress: None)
    check_output(request)
    plain = plain_request(request)
    expect = model_expectation(plain)
    parts = [_Part(f"kinora-job-{key}.{i + 1}", r) for i, r in enumerate(split_variations(plain))]
    packed = {part.name: transport.pack(part.request, expect["model"]) for part in parts}
    options = actor_options(plain)
    asked_to_cancel = False
    nodes: list[str] = []
    try:
        while True:
            if cancel.cancelled and not asked_to_cancel:
                asked_to_cancel = True
                for part in parts:
                    if part.actor is not None:
                        part.actor.cancel.remote()
            for part in parts:
                if part.result is None:
                    _advance(ray, part, packed[part.name], expect, options)
                    _collect(ray, part)
            seen = [p.status["node"] for p in parts if p.status and p.status["state"] != "idle"]
            if seen != nodes:
                nodes = seen
                if on_node is not None:
                    on_node(sorted(set(nodes)))
            report(_combined(parts))
            if all(p.status and p.status["state"] in ("done", "failed", "cancelled") for p in parts):
                break
            time.sleep(POLL_S)
        results = [part.result for part in parts]
    except JobCancelled:
        raise
    except UserError:
        raise
    except Exception as error:  # the connection went away: the job waits for the cluster
        disconnect()
        raise ClusterUnavailable(f"lost the Ray cluster at {address} ({_first_line(error)})") from None
    failed = [r for r in results if r["state"] == "failed"]
    if failed:
        _release(ray, parts)
        raise UserError(failed[0]["error"])
    if any(r["state"] == "cancelled" for r in results):
        _release(ray, parts)
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
    _release(ray, parts)
    report(Progress(1, 1, f"made with {made['model']} on {', '.join(sorted(set(nodes)))}"))
    return made["written"]


def _collect(ray, part: _Part) -> None:
    """Take a finished part's result and end its actor at once, so its node slot serves the next
    part or job (a finished actor would hold it until every part of the job is done)."""
    if part.status and part.status["state"] in ("done", "failed", "cancelled"):
        part.result = ray.get(part.actor.result.remote(), timeout=600)
        _release(ray, [part])
        part.actor = None


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


def _advance(ray, part: _Part, packed, expect: dict, options: dict) -> None:
    """Look at one part's actor: create it, (re)submit its run when it is idle, or note it lost."""
    from ray import exceptions

    if part.actor is None:
        try:
            part.actor = ray.get_actor(part.name, namespace=NAMESPACE)
        except ValueError:  # no such actor: submit the job
            part.actor = ray.remote(JobRunner).options(
                name=part.name, namespace=NAMESPACE, lifetime="detached", max_restarts=MAX_LOST,
                max_task_retries=MAX_LOST, max_concurrency=4, **options).remote()
            part.ref = part.actor.run.remote(packed.request_json, packed.files, expect)  # waits for placement
    try:
        part.status = ray.get(part.actor.status.remote(), timeout=2)
    except exceptions.GetTimeoutError:  # not placed yet (no free node) or restarting
        part.status = {"state": "waiting", "node": "", "step": 0, "total": 0,
                       "message": "waiting for a cluster node with a free Kinora slot", "preview": None}
        return
    except (exceptions.ActorDiedError, exceptions.ActorUnavailableError) as error:
        if isinstance(error, exceptions.ActorUnavailableError):
            return  # restarting on another node
        part.lost += 1
        if part.lost > MAX_LOST:
            raise UserError(f"the cluster lost this job {part.lost} times (nodes died); run it again or on "
                            "this machine") from None
        part.actor, part.ref, part.status = None, None, None
        return
    if part.status["state"] == "idle" and (part.ref is None or _finished(ray, part.ref)):
        part.ref = part.actor.run.remote(packed.request_json, packed.files, expect)


def _finished(ray, ref) -> bool:
    ready, _ = ray.wait([ref], timeout=0)
    return bool(ready)


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


def _release(ray, parts: list[_Part]) -> None:
    for part in parts:
        if part.actor is not None:
            try:
                ray.kill(part.actor)
            except Exception:  # already gone
                pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
