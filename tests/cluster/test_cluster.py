"""Jobs on a real local Ray cluster: a head node and two worker nodes, each a set of separate
processes (GCS, raylet, workers) on 127.0.0.1 with their own resources, started and stopped
by the test. The desktop side is this process (or a `kinora jobs run` child process), its
queue a real SQLite database; the generations run the bundled model on the worker nodes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the cluster extra is not installed (pip install -e '.[cluster]')")

from engine.cluster import dispatch, pool  # noqa: E402
from engine.generate.requests import ClipRef, Extend, Generate, Sampling, Variations  # noqa: E402
from engine.jobs.cluster_job import job_key  # noqa: E402
from engine.jobs.queue import JobQueue  # noqa: E402
from engine.jobs.request_job import job_params  # noqa: E402
from engine.jobs.worker import Worker  # noqa: E402
from engine.library.catalog import Library  # noqa: E402
from engine.library.db import library_path  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PROMPT = "a red circle moving right on a black background"
pytestmark = pytest.mark.slow


def _node_env(tmp: Path, name: str) -> dict:
    return {"PYTHONPATH": str(REPO), "KINORA_DATA_DIR": str(tmp / name / "data"),
            "KINORA_CACHE_DIR": str(tmp / name / "cache"), "OMP_NUM_THREADS": "1"}


def execute_here(*requests) -> None:
    """Run requests locally as a desktop does: in a Kinora process of their own (this test
    process has a Ray driver and a cluster's worth of state around it), with one CPU thread as
    a node's job of one CPU has (sums split over more threads round differently)."""
    import json

    script = ("import json, sys\nfrom engine.generate.executor import execute\n"
              "from engine.generate.requests import request_from_json\n"
              "for data in json.loads(sys.stdin.read()):\n    execute(request_from_json(data, 'test'))\n")
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps([r.to_json() for r in requests]),
                          text=True, capture_output=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})  # as on a node
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from ray.cluster_utils import Cluster

    tmp = tmp_path_factory.mktemp("ray")
    head = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "env_vars": _node_env(tmp, "head"),
        # A dead node is noticed within about two seconds (the default waits half a minute).
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 3,
                           "health_check_timeout_ms": 500}})
    workers = [head.add_node(num_cpus=1, resources={"kinora": 1}, env_vars=_node_env(tmp, f"worker{i}"))
               for i in range(2)]
    head.wait_for_nodes()
    head.tmp = tmp
    head.workers = workers
    yield head
    dispatch.disconnect()
    head.shutdown()


def _frames(path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _latents(path: Path) -> tuple[dict, np.ndarray]:
    from safetensors import safe_open

    with safe_open(str(path.with_suffix(".latents.safetensors")), "np") as stored:
        return stored.metadata(), stored.get_tensor("latents")


def _same_output(a: Path, b: Path) -> None:
    """The same generation as the local run, to the bit: the same pictures and stored latents
    (both run with one CPU thread; the encoder reads no memory it never wrote, see
    engine.generate.media_io.X264_OPTIONS). A wrong seed, prompt or held frame differs by tens of levels."""
    pictures_a, pictures_b = _frames(a), _frames(b)
    assert pictures_a.shape == pictures_b.shape and pictures_a.tobytes() == pictures_b.tobytes(), \
        f"{a.name}: other pictures than the local run (by up to " \
        f"{np.abs(pictures_a.astype(int) - pictures_b.astype(int)).max() if pictures_a.shape == pictures_b.shape else '?'} levels)"
    stored = [p.with_suffix(".latents.safetensors").is_file() for p in (a, b)]
    assert stored[0] == stored[1], f"{a.name}: latents stored on one side only"
    if not stored[0]:
        return  # an extend's output holds the clip's own frames: no latents are stored for it
    (meta_a, latents_a), (meta_b, latents_b) = _latents(a), _latents(b)
    assert meta_a == meta_b and latents_a.tobytes() == latents_b.tobytes(), f"{a.name}: other latents than the local run"


def _sampling(seed: int, **more) -> Sampling:
    return Sampling(seed=seed, steps=3, **more)


def test_jobs_and_variations_spread_over_both_workers_and_equal_local_runs(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir(), remote.mkdir()
    source = local / "source.mp4"
    execute_here(Generate(output=str(source), prompt=PROMPT, sampling=_sampling(11), frames=9))

    def requests(folder: Path):
        return [Generate(output=str(folder / "a.mp4"), prompt=PROMPT, sampling=_sampling(1), frames=9),
                Generate(output=str(folder / "b.mp4"), prompt="a blue square moving left on a black background",
                         sampling=_sampling(2), frames=9),
                Extend(output=str(folder / "c.mp4"), clip=ClipRef.of_file(str(source)), frames=8,
                       prompt=PROMPT, sampling=_sampling(3)),
                Variations(output=str(folder / "v.mp4"), sampling=_sampling(4, variations=4),
                           base=Generate(output=str(folder / "v.mp4"), prompt=PROMPT, sampling=_sampling(4), frames=9))]

    for request in requests(local):  # each in a process of its own, as each job runs on a node
        execute_here(request)
    queue = JobQueue(library_path())
    ids = [queue.submit(request.tool, job_params(request)) for request in requests(remote)]
    Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1).run()
    jobs = [queue.get(job_id) for job_id in ids]
    assert [job.state for job in jobs] == ["done"] * 4, [job.error for job in jobs]
    names = ["a.mp4", "b.mp4", "c.mp4", *(f"v-{i}.mp4" for i in range(1, 5))]
    for name in names:
        _same_output(remote / name, local / name)
    assert jobs[3].outputs == [str(remote / f"v-{i}.mp4") for i in range(1, 5)]
    # The seven parts (three jobs, four variations) ran on both worker nodes, each part on the
    # runner that was free first; no job ran on the head (no Kinora slot).
    nodes = {node for job in jobs for node in job.params["cluster"]["nodes"]}
    ids_of_workers = {worker.node_id[:8] for worker in cluster.workers}
    assert {node.rsplit("(", 1)[1].rstrip(")") for node in nodes} == ids_of_workers
    # One warm runner per worker slot took part after part (seven in all, each once), keeping
    # its process and loaded model: no process was started per job.
    runners = pool.describe_runners(ray).values()
    assert len(runners) == 2 and sum(r["jobs_run"] for r in runners) == 7
    assert not any(r["busy"] for r in runners)
    # The library holds the same records a local run makes: the extend names its source's record.
    library = Library()
    try:
        record = library.generation_for_output(str(remote / "c.mp4"))
        assert record["tool"] == "extend" and record["settings"]["request"]["output"] == str(remote / "c.mp4")
        takes = library.generation_for_output(str(remote / "v-3.mp4"))
        assert takes["seeds"] == [6] and len(takes["settings"]["takes"]) == 4
    finally:
        library.close()
    queue.close()


def test_a_worker_node_killed_mid_job_the_job_finishes_on_the_other(cluster, tmp_path):
    request = Generate(output=str(tmp_path / "long.mp4"), prompt=PROMPT, sampling=Sampling(seed=8, steps=40), frames=9)
    queue = JobQueue(library_path())
    job_id = queue.submit(request.tool, job_params(request))
    started = threading.Event()
    worker = Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1,
                    on_progress=lambda job, progress: started.set() if progress.step >= 2 else None)
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert started.wait(300), "the job never started"
    running_on = queue.get(job_id).params["cluster"]["nodes"][0].rsplit("(", 1)[1].rstrip(")")
    victim = next(node for node in cluster.workers if node.node_id.startswith(running_on))
    cluster.remove_node(victim, allow_graceful=False)  # SIGKILL of its raylet and workers
    cluster.workers.remove(victim)
    thread.join(600)
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert job.params["cluster"]["nodes"][0] != running_on
    survivor = cluster.workers[0].node_id[:8]
    assert job.params["cluster"]["nodes"] == [n for n in job.params["cluster"]["nodes"] if survivor in n]
    expected = tmp_path / "expected.mp4"
    execute_here(Generate(output=str(expected), prompt=PROMPT, sampling=Sampling(seed=8, steps=40), frames=9))
    _same_output(tmp_path / "long.mp4", expected)
    # A fresh node takes the place of the dead one for the next tests.
    cluster.workers.append(cluster.add_node(num_cpus=1, resources={"kinora": 1},
                                            env_vars=_node_env(cluster.tmp, "worker-new")))
    cluster.wait_for_nodes()
    queue.close()


def test_the_desktop_killed_mid_job_collects_the_result_after_a_restart(cluster, tmp_path):
    request = Generate(output=str(tmp_path / "kept.mp4"), prompt=PROMPT, sampling=Sampling(seed=9, steps=30), frames=9)
    queue = JobQueue(library_path())
    job_id = queue.submit(request.tool, job_params(request))
    env = {**os.environ, "PYTHONPATH": str(REPO), "KINORA_CLUSTER": cluster.address}
    command = [sys.executable, "-m", "engine.cli", "jobs", "run", "--quiet"]
    desktop = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and queue.get(job_id).step < 2:
        time.sleep(0.2)
    assert queue.get(job_id).step >= 2, desktop.stderr.read().decode()[-2000:] if desktop.poll() is not None else ""
    desktop.send_signal(signal.SIGKILL)
    desktop.wait()
    assert queue.get(job_id).state == "running"  # as the dead desktop left it
    # Meanwhile the job goes on on the cluster; a new desktop finds its actor and collects it.
    restarted = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    job = queue.get(job_id)
    assert job.state == "done", job.error
    assert job.crashes <= 1 and job.outputs == [str(tmp_path / "kept.mp4")]
    library = Library()
    try:
        records = [r for r in library.list_generations(limit=1000) if r["output_path"] == str(tmp_path / "kept.mp4")]
    finally:
        library.close()
    assert len(records) == 1  # collected once, not made twice
    # No runner keeps a record of this job; the runners are still one per worker slot.
    dispatch.connect(cluster.address)
    records = [name for names in pool.jobs_on_cluster(ray).values() for name in names]
    assert not any(name.startswith(f"kinora-job-{job_key(queue, job)}.") for name in records)
    assert len(pool.describe_runners(ray)) <= 2
    queue.close()


def test_a_cancelled_cluster_job_ends_cancelled_and_its_warm_runner_takes_the_next_job(cluster, tmp_path):
    dispatch.connect(cluster.address)
    long = Generate(output=str(tmp_path / "long.mp4"), prompt=PROMPT, sampling=Sampling(seed=12, steps=400), frames=9)
    queue = JobQueue(library_path())
    job_id = queue.submit(long.tool, job_params(long))
    started = threading.Event()
    worker = Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1,
                    on_progress=lambda job, progress: started.set() if progress.step >= 2 else None)
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert started.wait(300), "the job never started"
    processes = {name: about["pid"] for name, about in pool.describe_runners(ray).items()}
    assert worker.cancel(job_id) == "running"
    thread.join(300)
    job = queue.get(job_id)
    assert job.state == "cancelled" and job.step < 400, (job.state, job.step, job.error)
    assert not (tmp_path / "long.mp4").exists()
    # The runner is free again, and the next job runs in the same warm processes.
    after = Generate(output=str(tmp_path / "after.mp4"), prompt=PROMPT, sampling=_sampling(13), frames=9)
    next_id = queue.submit(after.tool, job_params(after))
    Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1).run()
    assert queue.get(next_id).state == "done"
    runners = pool.describe_runners(ray)
    assert {name: about["pid"] for name, about in runners.items()} == processes
    assert not any(about["busy"] for about in runners.values())
    records = [name for names in pool.jobs_on_cluster(ray).values() for name in names]
    assert not any(name.startswith(f"kinora-job-{job_key(queue, job)}.") for name in records)
    queue.close()


def test_a_worker_without_the_model_fails_the_job_with_its_name_and_the_queue_goes_on(cluster, tmp_path, monkeypatch,
                                                                                      tiny_model_dir):
    # The tiny LTX model is in a folder only this machine knows (the worker nodes were started
    # without it); --device cpu lets the job go to a node without a GPU.
    monkeypatch.setenv("KINORA_MODELS", str(Path(tiny_model_dir).parent))
    missing = Generate(output=str(tmp_path / "x.mp4"), prompt="rain", frames=9,
                       sampling=Sampling(model=str(tiny_model_dir), device="cpu", steps=2))
    fine = Generate(output=str(tmp_path / "y.mp4"), prompt=PROMPT, frames=9, sampling=_sampling(5))
    queue = JobQueue(library_path())
    ids = [queue.submit(r.tool, job_params(r)) for r in (missing, fine)]
    Worker(library_path(), stop_when_empty=True, cluster=cluster.address, poll_s=0.1).run()
    failed, done = (queue.get(i) for i in ids)
    assert failed.state == "failed" and "does not have the model" in failed.error
    assert Path(tiny_model_dir).name in failed.error or "tiny" in failed.error
    assert done.state == "done"
    queue.close()


def test_with_the_cluster_gone_a_job_waits_and_moves_back_to_this_machine(tmp_path):
    request = Generate(output=str(tmp_path / "here.mp4"), prompt=PROMPT, sampling=_sampling(6), frames=9)
    queue = JobQueue(library_path())
    job_id = queue.submit(request.tool, job_params(request))
    messages = []
    worker = Worker(library_path(), stop_when_empty=True, cluster="127.0.0.1:9", poll_s=0.1,
                    on_progress=lambda job, progress: messages.append(progress.message))
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("waiting for cluster" in m for m in messages):
        time.sleep(0.1)
    job = queue.get(job_id)
    assert job.state == "running" and "waiting for cluster" in job.message and "127.0.0.1:9" in job.message
    from engine.cli import main

    assert main(["jobs", "local", str(job_id)]) == 0  # the one action that moves it back
    thread.join(300)
    job = queue.get(job_id)
    assert job.state == "done" and Path(job.outputs[0]).is_file()
    assert "cluster" not in job.params  # it never ran there
    queue.close()
