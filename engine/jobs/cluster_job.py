"""Queue jobs run on a Ray cluster (engine.cluster), with the desktop's queue as their record.

A job waits as "waiting for cluster" while the cluster cannot be reached, trying again every
RETRY_S, until it can run or the user moves it back to this machine (params["where"] =
"local": `kinora jobs local ID` or the Jobs panel). Where it runs is kept in its params
("cluster": {"nodes": [...]}) for the Jobs panel and `kinora jobs list`.
"""

from __future__ import annotations

import hashlib
import time

from engine.jobs.queue import Job, JobQueue
from engine.progress import CancelToken, Progress

RETRY_S = 5.0


WAITING = "waiting for cluster"


def runs_on(job: Job) -> str:
    """Where a job runs or ran: "here", or the cluster nodes it was given to."""
    cluster = job.params.get("cluster")
    if isinstance(cluster, dict) and cluster.get("nodes") and job.params.get("where") != "local":
        return "on " + ", ".join(str(node) for node in cluster["nodes"])
    return "here"


def waits_for_cluster(job: Job) -> bool:
    return job.state == "running" and job.message.startswith(WAITING)


def job_key(queue: JobQueue, job: Job) -> str:
    """A name for the job's actors, the same after a restart and different for every queue."""
    where = hashlib.sha256(f"{queue.path}|{job.id}|{job.created!r}".encode()).hexdigest()[:12]
    return f"{where}-{job.id}"


def run_on_cluster(queue: JobQueue, job: Job, address: str, on_step, cancel: CancelToken, run_here) -> list:
    """Run the job on the cluster at `address`; `run_here()` runs it on this machine instead
    when the user moves it back while it waits."""
    from engine.cluster.dispatch import ClusterUnavailable, run_request
    from engine.jobs.request_job import request_of

    request = request_of(job.kind, job.params)

    def on_node(nodes: list[str]) -> None:
        current = queue.get(job.id).params
        queue.update_params(job.id, {**current, "cluster": {"address": address, "nodes": nodes}})

    while True:
        try:
            return run_request(address, job_key(queue, job), request, on_progress=on_step, cancel=cancel,
                               on_node=on_node)
        except ClusterUnavailable as error:
            on_step(Progress(0, 0, f"{WAITING}: {error}"))
            deadline = time.monotonic() + RETRY_S
            while time.monotonic() < deadline:
                cancel.check()
                if queue.get(job.id).params.get("where") == "local":
                    on_step(Progress(0, 0, "moved to this machine"))
                    return run_here()
                time.sleep(0.2)
