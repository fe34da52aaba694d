"""LTX-2 generation overhead on a model large enough to measure on a CPU.

Run: .venv/bin/python -m pytest -q -s tests/bench/test_bench_ltx2.py   (a few minutes)

Model: the tiny LTX-2 components of the tests with a 2-block transformer 128 wide (4 heads x 32),
32x32, 17 frames (9 latent frames, 2304 video tokens, 17 audio tokens), 4 steps, plain
classifier-free guidance 3 on both streams (batch of 2). Targets, each a ratio measured in the
same run: Kinora text-to-video with sound vs diffusers LTX2Pipeline <= 1.03x wall time and
<= 1.05x peak memory (each side in a fresh process, the second generation measured); a
storyboard of 4 prompts vs 1 prompt <= 1.10x.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

STEPS, FRAMES, SIZE, REPEATS, TEXT = 4, 17, 32, 5, 64
PROMPT = "a lighthouse on a cliff at dusk, waves breaking below"
PLAIN = (("stg", 0.0), ("modality", 1.0), ("rescale", 0.0), ("audio_stg", 0.0), ("audio_modality", 1.0),
         ("audio_rescale", 0.0))


@pytest.fixture(scope="module")
def bench_model(tmp_path_factory):
    import diffusers

    from tests.generate.tiny_ltx2 import tiny_ltx2_components

    folder = tmp_path_factory.mktemp("bench") / "ltx2-bench"
    diffusers.LTX2Pipeline(**tiny_ltx2_components(heads=4, head_dim=32)).save_pretrained(folder,
                                                                                          safe_serialization=True)
    return folder


def _best_interleaved(runs: dict) -> dict:
    """The fastest of REPEATS timings of each run, the runs taking turns so that the load of a shared
    machine falls on all of them alike."""
    for run in runs.values():
        run()  # warm up
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(REPEATS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _kinora(model):
    from engine.generate import tools
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from engine.generate.settings import SamplingSettings

    backend = load_backend(resolve(str(model)), device="cpu")
    settings = SamplingSettings(steps=STEPS, guidance=3.0, seed=0, max_sequence_length=TEXT, guidance_terms=PLAIN)
    one = tools.text_to_video(backend.caps, num_frames=FRAMES, width=SIZE, height=SIZE, rate=25, prompt=PROMPT)
    return backend, lambda: backend.generate(one.plan, settings)


def _reference(model):
    import torch
    from diffusers import LTX2Pipeline

    pipe = LTX2Pipeline.from_pretrained(model, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)

    def run():
        pipe(PROMPT, height=SIZE, width=SIZE, num_frames=FRAMES, frame_rate=25.0, num_inference_steps=STEPS,
             guidance_scale=3.0, audio_guidance_scale=3.0, stg_scale=0.0, modality_scale=1.0, guidance_rescale=0.0,
             audio_stg_scale=0.0, audio_modality_scale=1.0, audio_guidance_rescale=0.0,
             spatio_temporal_guidance_blocks=None, max_sequence_length=TEXT,
             generator=torch.Generator().manual_seed(0), output_type="pt")

    return pipe, run


def test_ltx2_overhead(bench_model):
    from engine.generate import tools
    from engine.generate.settings import SamplingSettings

    backend, kinora_run = _kinora(bench_model)
    settings = SamplingSettings(steps=STEPS, guidance=3.0, seed=0, max_sequence_length=TEXT, guidance_terms=PLAIN)
    spans = [tools.PromptSpan(i * FRAMES // 4, (i + 1) * FRAMES // 4, f"{PROMPT}, shot {i}") for i in range(4)]
    four = tools.storyboard(backend.caps, num_frames=FRAMES, width=SIZE, height=SIZE, rate=25, prompt=PROMPT,
                            prompts=spans)
    _, reference = _reference(bench_model)

    best = _best_interleaved({"kinora": kinora_run, "reference": reference,
                              "storyboard": lambda: backend.generate(four.plan, settings)})
    kinora, diffusers_time, storyboard = best["kinora"], best["reference"], best["storyboard"]
    print(f"\nLTX-2 text-to-video with sound: Kinora {kinora:.2f} s, LTX2Pipeline {diffusers_time:.2f} s, "
          f"ratio {kinora / diffusers_time:.3f} (target <= 1.03)")
    print(f"4 prompts {storyboard:.2f} s vs 1 prompt {kinora:.2f} s: ratio {storyboard / kinora:.3f} (target <= 1.10)")
    kinora_peak, reference_peak = _peak_memory("kinora", bench_model), _peak_memory("reference", bench_model)
    print(f"peak memory while generating: Kinora {kinora_peak / 2**20:.0f} MiB, LTX2Pipeline "
          f"{reference_peak / 2**20:.0f} MiB, ratio {kinora_peak / reference_peak:.3f} (target <= 1.05)")


def _peak_memory(kind: str, model: Path) -> int:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, __file__, kind, str(model)], capture_output=True, text=True, env=env,
                          cwd=root, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["peak"]


def _measure(kind: str, model: str) -> None:
    """Peak resident memory during a second generation above the resident memory before it."""
    import psutil
    import torch

    torch.set_grad_enabled(False)
    _, run = _kinora(model) if kind == "kinora" else _reference(model)
    process = psutil.Process()
    run()
    base = peak = process.memory_info().rss
    running = True

    def watch():
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run()
    running = False
    watcher.join()
    print(json.dumps({"peak": peak - base}))


if __name__ == "__main__":
    _measure(sys.argv[1], sys.argv[2])
