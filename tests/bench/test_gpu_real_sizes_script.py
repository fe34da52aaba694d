"""The real-size GPU benchmark (tests/bench/gpu_real_sizes.py), checked on any machine. Not timed.

--tiny runs the script's own code on the CPU (the same classes built from the same configs with
fewer channels, the same two sides, the same step timing, table and JSON), so a GPU's short time
is not spent finding a mistake in it. On a machine with a CUDA GPU `make bench` also runs the real
sizes (test_real_sizes_on_the_gpu); elsewhere that test is skipped and says why.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("gpu_real_sizes.py")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout)


def _check_rows(report: dict, expected_variants: list[str], stdout: str) -> None:
    rows = report["results"]
    assert [row["variant"] for row in rows] == expected_variants
    for row in rows:
        assert "error" not in row, row
        kinora, reference = row["kinora"], row["diffusers"]
        assert len(kinora["step_seconds"]) == report["timed_steps"] == len(reference["step_seconds"])
        assert all(seconds > 0 for seconds in kinora["step_seconds"] + reference["step_seconds"])
        assert math.isfinite(row["step_ratio"]) and row["step_ratio"] > 0
        assert row["step_ratio"] == pytest.approx(kinora["seconds_per_step"] / reference["seconds_per_step"])
        assert row["transformer_parameters"] > 0
        table_line = next(line for line in stdout.splitlines()[::-1] if line.startswith(row["label"]))
        assert f"{row['step_ratio']:.3f}" in table_line  # the printed table carries the ratio


def test_tiny_run_gives_a_ratio_for_every_family(tmp_path):
    from engine.generate.backends import FAMILY_TABLE
    from tests.bench.gpu_real_sizes import VARIANTS

    out = tmp_path / "table.json"
    done = _run("--tiny", "--out", str(out), timeout=1200)
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["mode"] == "tiny" and report["device"] == "cpu" and report["timed_steps"] == 3
    assert {row["family"] for row in report["results"]} == {family.name for family in FAMILY_TABLE}
    _check_rows(report, [variant.key for variant in VARIANTS], done.stdout)
    for row in report["results"]:
        assert row["memory_ratio"] is None and row["kinora"]["peak_bytes"] is None  # no CUDA allocator on the CPU


def test_family_option_runs_that_family_only_and_out_defaults_to_OUT(tmp_path):
    env_out = tmp_path / "device-out"
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--family", "skyreels", "--steps", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OUT": str(env_out)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((env_out / "gpu_real_sizes.json").read_text(encoding="utf-8"))
    assert report["timed_steps"] == 2
    _check_rows(report, ["skyreels-1.3b"], done.stdout)


@pytest.mark.skipif(_cuda(), reason="this machine has a CUDA GPU: the refusal without one cannot be seen here")
def test_real_sizes_without_a_gpu_are_refused_with_what_to_do(tmp_path):
    out = tmp_path / "table.json"
    done = _run("--out", str(out), timeout=300)
    assert done.returncode == 2
    assert "needs a CUDA GPU" in done.stderr and "--tiny" in done.stderr
    assert not out.exists()


@pytest.mark.skipif(not _cuda(), reason="no CUDA GPU here: the real-size benchmark (python tests/bench/gpu_real_sizes.py)"
                                        " runs only on a machine with one; the --tiny check above ran its code")
def test_real_sizes_on_the_gpu(tmp_path):
    from tests.bench.gpu_real_sizes import VARIANTS

    out = tmp_path / "gpu_real_sizes.json"
    done = _run("--out", str(out), timeout=1200)
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    _check_rows(report, [variant.key for variant in VARIANTS], done.stdout)
    assert all(row["memory_ratio"] > 0 for row in report["results"])
