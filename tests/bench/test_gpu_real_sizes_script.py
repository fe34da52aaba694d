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
        assert row["keyframe_fit"]["steps"] == report["timed_steps"] and row["keyframe_fit"]["seconds_per_step"] > 0
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


# the sizes the models are published as (the "1.3B" Wan and SkyReels transformers count 1.42 and 1.44 billion)
PUBLISHED_BILLIONS = {"ltx2-19b": 19, "ltx-2b": 2, "ltx-13b": 13, "wan-1.3b": 1.3, "wan22-5b": 5,
                      "skyreels-1.3b": 1.3, "wan-14b": 14}


def test_real_configs_build_the_published_sizes():
    """The script's own builder on the meta device (no memory, no weights): every real config makes
    its class without error and a transformer of the size the model is published as."""
    import torch

    from tests.bench.gpu_real_sizes import VARIANTS, build_components

    assert {variant.key for variant in VARIANTS} == set(PUBLISHED_BILLIONS)
    for variant in VARIANTS:
        components = build_components(variant, False, torch.device("meta"), torch.bfloat16)
        billions = sum(p.numel() for p in components["transformer"].parameters()) / 1e9
        assert billions == pytest.approx(PUBLISHED_BILLIONS[variant.key], rel=0.12), variant.key
        if variant.family == "ltx2":  # the connectors read all 49 hidden states of a Gemma 3 12B-shaped encoder
            text = components["text_encoder"].config.text_config
            assert (text.hidden_size, text.num_hidden_layers + 1) == (3840, 49)
            assert components["connectors"].config.text_proj_in_factor == 49


def test_weights_are_cast_as_from_pretrained_casts_a_checkpoint(tmp_path):
    """Built weights get the dtypes a bfloat16 from_pretrained gives the same model (Wan keeps its
    norms, time embedder and modulation tables in float32)."""
    import diffusers
    import torch

    from tests.bench import gpu_real_configs as real
    from tests.bench.gpu_real_sizes import _build

    config = {**real.WAN_13B_TRANSFORMER, **real.TINY["wan_transformer"]}
    diffusers.WanTransformer3DModel.from_config(config).save_pretrained(tmp_path / "wan", safe_serialization=True)
    loaded = diffusers.WanTransformer3DModel.from_pretrained(tmp_path / "wan", torch_dtype=torch.bfloat16)
    built = _build(diffusers.WanTransformer3DModel, config, torch.device("cpu"), torch.bfloat16)
    expected = {name: tensor.dtype for name, tensor in loaded.state_dict().items()}
    assert {name: tensor.dtype for name, tensor in built.state_dict().items()} == expected
    assert {torch.float32, torch.bfloat16} <= set(expected.values())


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
