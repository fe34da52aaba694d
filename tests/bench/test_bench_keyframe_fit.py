"""What holding keyframes as their pictures costs (engine.generate.keyframe_fit), on the bundled
model at its default 20 steps: one 33-frame window with 0, 1 and 2 keyframes in motion (a circle
on one frame, one on the last frame), the time of the fit against the sampling and decode of the
same window, all in one run, and the keyframes' PSNR before and after against their VAE round trip.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q -s tests/bench/test_bench_keyframe_fit.py
Results are recorded in docs/benchmarks.md; nothing here asserts a time.
"""

from __future__ import annotations

import time


def test_bench_keyframe_fit_against_the_window_it_fits(tmp_path):
    import numpy as np
    import torch
    from PIL import Image, ImageDraw

    from engine.generate import tools
    from engine.generate.backends import load_backend
    from engine.generate.keyframe_fit import fit_keyframes
    from engine.generate.media_io import read_image
    from engine.generate.models import resolve
    from engine.generate.settings import SamplingSettings
    from engine.toyworld.evaluate import psnr

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        backend = load_backend(resolve(None), device="cpu")
        paths = {}
        for frame, x in ((12, 14), (32, 22)):
            image = Image.new("RGB", (64, 64))
            ImageDraw.Draw(image).ellipse((x - 9, 23, x + 9, 41), fill=(230, 30, 30))
            image.save(tmp_path / f"{frame}.png")
            paths[frame] = str(tmp_path / f"{frame}.png")
        settings = SamplingSettings(seed=3)
        for count in (0, 1, 2):
            frames = sorted(paths)[:count]
            plan = tools.storyboard(backend.caps, width=64, height=64, num_frames=33, rate=25,
                                    prompt="a red circle moving right on a black background",
                                    cards=[tools.Card(paths[f], f) for f in frames]).plan
            start = time.perf_counter()
            raw = backend.generate(plan, settings, decode=False).latents
            backend.decode(raw, settings)
            window = time.perf_counter() - start
            start = time.perf_counter()
            fitted = fit_keyframes(backend, plan, raw, settings)
            fit = time.perf_counter() - start
            line = f"{count} keyframes: window {window:.2f} s, fit {fit:.2f} s ({fit / window:.2f}x the window)"
            for f in frames:
                source = read_image(paths[f])
                with torch.no_grad():
                    trip = backend.decode(backend.encode_frames(source[None]), settings)[0, 0]
                before = (backend.decode(raw, settings)[0, f] * 255 + 0.5).astype(np.uint8)
                after = (backend.decode(fitted, settings)[0, f] * 255 + 0.5).astype(np.uint8)
                line += (f"; frame {f}: {psnr(before, source):.2f} -> {psnr(after, source):.2f} dB "
                         f"(round trip {psnr((np.clip(trip, 0, 1) * 255 + 0.5).astype(np.uint8), source):.2f})")
            print(line, flush=True)
    finally:
        torch.set_num_threads(threads)
