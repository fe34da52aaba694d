"""Long generations on the bundled model: `python -m engine.toyworld.evaluate_windows`.

A plan longer than the model makes at once runs as a chain of windows (engine.generate.chain):
each window holds the last latent frames of the one before, anchored to the first window's
latent statistics. This harness measures such a chain of `count` windows beside the chain users
build by hand today — generate a clip, save its last frame as a picture, image-to-video from
that picture (re-encoded pixels: no motion, no latents carried over), again and again — and
beside single windows generated alone. Everything runs through Kinora's own recipes
(engine.generate.tools) and run_recipe, and is measured with the detectors of
engine.toyworld.detect. The same measures for both chains:

- colour drift: CIEDE2000 from the first window's background to the last one's. A window's
  background is the per-pixel temporal median of its frames (the moving object leaves it); the
  difference is the mean over the pixels that are background in both (detect.background_drift),
  per pixel, so a shift in one part of the picture counts, not only an overall colour cast.
- seams: for each join of two windows, the consecutive-frame difference across it, over the median
  consecutive difference of the whole video. Kinora's chain is decoded as one (engine.generate.
  chain), so its join is the step from the last frame of the latent frames a window held to the
  first frame only it made; the naive chain's join is the step from a clip's last frame to the
  next clip's second (its first is that same picture, re-encoded, and is dropped when the clips
  are joined). For scale, the same step in the middle of each window ("interior"; for Kinora at
  the same place in the latent grid, where the VAE's steps are alike), the largest step over
  the latent frames either side of the join (a jump the decoder spreads over a few frames), and
  the join over the median step of the two windows it joins (where the video moves faster in some
  windows than others, the whole video's median makes every step of the fast ones look large).
- adherence: `judge` (colour, shape and motion of the largest object) on each window's frames
  against the caption, beside the same verdict on single windows of the same prompt, seeds 0, 1,
  ... (the chains' seeds among them).
- the subject: the speed (median centroid step, pixels a frame) and size (median area, pixels) of
  the largest object of the caption's colour in each window, beside the same in single windows:
  a subject that slows down, shrinks or fades as a chain goes on is drift that colour does not show.
- time: the chain against the sum of as many single windows (same steps, a 33-frame plan each),
  interleaved with the chains so that a loaded machine weighs on both alike; wall and CPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.toyworld import detect
from engine.toyworld.evaluate import RATE, consecutive_differences, judge, rates
from engine.toyworld.world import parse_caption

# Bouncing keeps the object in the picture however long the video is; a sky background has a
# gradient, so a drift shows in its hue and lightness and anywhere in the picture.
PROMPT = "a yellow star bouncing on a sky background"
SIZE = 64

THRESHOLDS = {  # (value, higher is better)
    "drift": (3.0, False),  # CIEDE2000, first window to last
    "seam_ratio": (1.5, False),  # the worst join over the median consecutive difference
    "time_ratio": (1.1, False),  # the chain over the sum of its windows alone
}


@dataclass
class LongVideo:
    """One long generation: its frames and where its windows and joins lie in them."""

    kind: str  # "kinora" or "naive"
    seed: int
    frames: np.ndarray  # uint8 (F, H, W, 3)
    windows: list[tuple[int, int]]  # each window's frames [start, stop)
    joins: list[tuple[int, int]]  # the consecutive differences [first, stop) each join touches (i: frame i to i + 1)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    grid: int = 4  # pixel frames a latent frame of the model that made it (the bundled model's 4)


@dataclass
class Measured:
    drift: float  # CIEDE2000, first window's background to the last one's
    drift_per_window: list[float]  # from the first window to each
    seam_ratios: list[float]
    interior_ratios: list[float]
    judged: list[dict[str, bool]] = field(default_factory=list)  # one verdict per window
    span_ratios: list[float] = field(default_factory=list)  # the largest step a latent frame either side
    speeds: list[float] = field(default_factory=list)  # the subject's, pixels a frame, per window
    areas: list[float] = field(default_factory=list)  # the subject's, pixels, per window
    local_seam_ratios: list[float] = field(default_factory=list)  # over the median step of the two windows joined


def chain_frames(caps, count: int) -> int:
    """The frame count whose plan runs as exactly `count` full windows on a model with these caps."""
    from engine.generate.windows import overlap_latents

    tc = caps.vae_temporal_compression
    per_window = (caps.frames_per_window - 1) // tc + 1
    held = overlap_latents(caps)
    return ((per_window - held) * count + held - 1) * tc + 1


def _timed(make):
    wall, cpu = time.perf_counter(), time.process_time()
    out = make()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _generated(backend, recipe, settings) -> np.ndarray:
    from engine.generate.run import run_recipe

    frames, _ = run_recipe(backend, recipe, settings)
    return frames[0]


def kinora_chain(backend, settings, prompt: str, count: int) -> LongVideo:
    """One text-to-video plan `count` windows long, run as Kinora runs it."""
    from engine.generate.tools import text_to_video
    from engine.generate.windows import window_layout

    recipe = text_to_video(backend.caps, width=SIZE, height=SIZE, num_frames=chain_frames(backend.caps, count),
                           rate=RATE, prompt=prompt)
    layout = window_layout(recipe.plan.num_frames, backend.caps)
    if len(layout) != count:
        raise ValueError(f"{recipe.plan.num_frames} frames make {len(layout)} windows, not {count}")
    frames, wall, cpu = _timed(lambda: _generated(backend, recipe, settings))
    return LongVideo("kinora", settings.seed, frames, [(w.start, w.stop) for w in layout],
                     [(w.first_new_frame - 1, w.first_new_frame) for w in layout[1:]], wall, cpu,
                     backend.caps.vae_temporal_compression)


def naive_chain(backend, settings, prompt: str, count: int, folder: Path) -> LongVideo:
    """A clip, then `count - 1` times image-to-video from the last frame saved as a PNG."""
    import cv2

    from engine.generate.tools import image_to_video, text_to_video

    frames_per_window = backend.caps.frames_per_window
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    first = text_to_video(backend.caps, width=SIZE, height=SIZE, num_frames=frames_per_window, rate=RATE,
                          prompt=prompt)
    pieces = [_generated(backend, first, settings)]
    windows, joins, length = [(0, frames_per_window)], [], frames_per_window
    for i in range(1, count):
        picture = folder / f"naive-{settings.seed}-{i}.png"
        cv2.imwrite(str(picture), cv2.cvtColor(pieces[-1][-1], cv2.COLOR_RGB2BGR))
        recipe = image_to_video(backend.caps, str(picture), width=SIZE, height=SIZE, num_frames=frames_per_window,
                                rate=RATE, prompt=prompt)
        clip = _generated(backend, recipe, settings)
        pieces.append(clip[1:])  # its first frame is the picture it started from
        windows.append((length - 1, length - 1 + len(clip)))
        joins.append((length - 1, length))
        length += len(clip) - 1
    return LongVideo("naive", settings.seed, np.concatenate(pieces), windows, joins,
                     time.perf_counter() - started_wall, time.process_time() - started_cpu,
                     backend.caps.vae_temporal_compression)


def window_background(frames: np.ndarray) -> np.ndarray:
    """The per-pixel temporal median of a window's frames: its background, the moving object gone."""
    return np.median(frames, axis=0).round().astype(np.uint8)


def subject(frames: np.ndarray, colour: str) -> tuple[float, float]:
    """(speed, area) of the largest object of `colour` in the frames: the median step of its
    centroid between frames it is seen in (pixels a frame) and its median area (pixels); NaN both
    when it is seen in fewer than 3 frames."""
    seen = []
    for frame in frames:
        blobs = [b for b in detect.detect_frame(frame) if b.colour == colour]  # largest first
        seen.append(blobs[0] if blobs else None)
    areas = [b.area for b in seen if b is not None]
    if len(areas) < 3:
        return float("nan"), float("nan")
    steps = [float(np.hypot(b.cx - a.cx, b.cy - a.cy)) for a, b in zip(seen[:-1], seen[1:])
             if a is not None and b is not None]
    return float(np.median(steps)) if steps else float("nan"), float(np.median(areas))


def measure(video: LongVideo, prompt: str) -> Measured:
    (colour, shape, motion), = parse_caption(prompt)[0]
    backgrounds = [window_background(video.frames[a:b]) for a, b in video.windows]
    drifts = [detect.background_drift(backgrounds[0], b) for b in backgrounds]
    steps = consecutive_differences(video.frames)
    scale = max(float(np.median(steps)), 1e-6)
    seams, interiors, spans, local = [], [], [], []
    for (first, stop), (before, _), (_start, end) in zip(video.joins, video.windows, video.windows[1:]):
        seams.append(float(steps[first:stop].max()) / scale)
        local.append(float(steps[first:stop].max()) / max(float(np.median(steps[before:end - 1])), 1e-6))
        grid = video.grid
        middle = first + grid * max(1, (end - first) // (2 * grid))  # the same place in the latent grid
        interiors.append(float(steps[middle:middle + stop - first].max()) / scale)
        spans.append(float(steps[max(0, first - grid):stop + grid].max()) / scale)
    judged = [judge(video.frames[a:b], colour, shape, motion)[0] for a, b in video.windows]
    speeds, areas = zip(*(subject(video.frames[a:b], colour) for a, b in video.windows))
    return Measured(drifts[-1], drifts, seams, interiors, judged, spans, speeds=list(speeds), areas=list(areas),
                    local_seam_ratios=local)


def no_seam(caps, singles: list[np.ndarray]) -> dict[str, float]:
    """The seam measure where there is no seam: in single windows, the step at the place a
    chain's seam sits in its window (from the last frame of the held latent frames to the next),
    over the window's own median step. How often a step there is within 1.5 of the median, and
    the worst of each 9 (a chain of 10 windows has 9 seams), say what the seam target asks of
    a video with no seam at all."""
    from engine.generate.windows import window_layout

    if not singles:
        return {}
    second = window_layout(chain_frames(caps, 2), caps)[1]
    at = second.first_new_frame - second.start - 1
    ratios = []
    for frames in singles:
        steps = consecutive_differences(frames)
        ratios.append(float(steps[at]) / max(float(np.median(steps)), 1e-6))
    worst = [max(ratios[i:i + 9]) for i in range(0, len(ratios) - 8, 9)]
    return {"no_seam_within": float(np.mean([r <= THRESHOLDS["seam_ratio"][0] for r in ratios])),
            "no_seam_worst_of_9": float(np.median(worst)) if worst else float("nan"),
            "no_seam_median": float(np.median(ratios))}


def summary(measured: list[Measured]) -> dict[str, float]:
    """The numbers of one kind of chain over its seeds."""
    seams = [r for m in measured for r in m.seam_ratios]
    judged = [ok for m in measured for ok in m.judged]
    later = [ok for m in measured for ok in m.judged[1:]]
    return {"drift": float(np.mean([m.drift for m in measured])), "drift_max": float(max(m.drift for m in measured)),
            "drift_worst_window": float(max(max(m.drift_per_window) for m in measured)),
            "seam_ratio": float(max(seams)), "seam_ratio_median": float(np.median(seams)),
            "interior_ratio_median": float(np.median([r for m in measured for r in m.interior_ratios])),
            "interior_ratio_worst": float(max(r for m in measured for r in m.interior_ratios)),
            "seams_within": float(np.mean([r <= THRESHOLDS["seam_ratio"][0] for r in seams])),
            "interiors_within": float(np.mean([r <= THRESHOLDS["seam_ratio"][0]
                                               for m in measured for r in m.interior_ratios])),
            "span_ratio": float(max(r for m in measured for r in m.span_ratios)),
            "seam_ratio_local": float(max(r for m in measured for r in m.local_seam_ratios)),
            "seams_within_local": float(np.mean([r <= THRESHOLDS["seam_ratio"][0]
                                                 for m in measured for r in m.local_seam_ratios])),
            "seam_over_interior": float(max(a / max(b, 1e-6) for m in measured
                                            for a, b in zip(m.seam_ratios, m.interior_ratios))),
            "adherence": rates(judged)["all"], "adherence_later_windows": rates(later)["all"],
            "subject_speed": float(np.nanmean([v for m in measured for v in m.speeds])),
            "subject_speed_last": float(np.nanmean([m.speeds[-1] for m in measured])),
            "subject_area": float(np.nanmean([v for m in measured for v in m.areas])),
            "subject_area_last": float(np.nanmean([m.areas[-1] for m in measured])),
            **{f"adherence_{key}": value for key, value in rates(judged).items() if key != "all"}}


def evaluate_windows(backend, settings, folder: Path, *, prompt: str = PROMPT, count: int = 10,
                     chain_seeds: tuple[int, ...] = (0, 1), singles: int = 10, keep: Path | None = None,
                     log=print, first_single: int = 0) -> dict:
    """Both chains for each seed, and `singles` single windows (seeds first_single, ...) run between them;
    the long videos are written as MP4 files into `keep` when given, to look at."""
    from engine.generate.tools import text_to_video

    (colour, shape, motion), = parse_caption(prompt)[0]
    single_recipe = text_to_video(backend.caps, width=SIZE, height=SIZE, num_frames=backend.caps.frames_per_window,
                                  rate=RATE, prompt=prompt)
    single_seeds = list(range(first_single, first_single + singles))
    groups = [single_seeds[i::2 * len(chain_seeds)] for i in range(2 * len(chain_seeds))]
    single_times, single_judged, single_frames, chains = [], [], {}, {"kinora": [], "naive": []}
    single_subjects = []

    def run_singles(seeds):
        for seed in seeds:
            frames, wall, cpu = _timed(lambda seed=seed: _generated(backend, single_recipe, replace(settings, seed=seed)))
            single_times.append((wall, cpu))
            single_judged.append(judge(frames, colour, shape, motion)[0])
            single_subjects.append(subject(frames, colour))
            single_frames[seed] = frames
            log(f"single window seed {seed}: {wall:.1f} s, {single_judged[-1]}")

    # The first generation of a process pays for lazy set-up (kernels, caches): not in any timing.
    _generated(backend, single_recipe, replace(settings, steps=2))
    for j, seed in enumerate(chain_seeds):
        run_singles(groups[2 * j])
        video = kinora_chain(backend, replace(settings, seed=seed), prompt, count)
        chains["kinora"].append(video)
        log(f"kinora chain seed {seed}: {video.seconds:.1f} s")
        run_singles(groups[2 * j + 1])
        video = naive_chain(backend, replace(settings, seed=seed), prompt, count, folder)
        chains["naive"].append(video)
        log(f"naive chain seed {seed}: {video.seconds:.1f} s")
    if keep is not None:
        from engine.generate.media_io import write_video

        keep.mkdir(parents=True, exist_ok=True)
        for video in (*chains["kinora"], *chains["naive"]):
            write_video(keep / f"{video.kind}-seed{video.seed}.mp4", video.frames, RATE)
    measured = {kind: [measure(v, prompt) for v in videos] for kind, videos in chains.items()}
    result = {kind: summary(m) for kind, m in measured.items()}
    result["single"] = {f"adherence_{k}" if k != "all" else "adherence": v for k, v in rates(single_judged).items()}
    result["single"].update(no_seam(backend.caps, list(single_frames.values())))
    if single_subjects:
        result["single"]["subject_speed"] = float(np.nanmean([v for v, _ in single_subjects]))
        result["single"]["subject_area"] = float(np.nanmean([a for _, a in single_subjects]))
    single_wall = float(np.mean([w for w, _ in single_times]))
    single_cpu = float(np.mean([c for _, c in single_times]))
    result["time"] = {
        "chain_seconds": float(np.mean([v.seconds for v in chains["kinora"]])),
        "naive_seconds": float(np.mean([v.seconds for v in chains["naive"]])),
        "single_seconds": single_wall,
        "time_ratio": float(np.mean([v.seconds for v in chains["kinora"]])) / (count * single_wall),
        "cpu_ratio": float(np.mean([v.cpu_seconds for v in chains["kinora"]])) / (count * single_cpu),
        "naive_time_ratio": float(np.mean([v.seconds for v in chains["naive"]])) / (count * single_wall),
        "naive_cpu_ratio": float(np.mean([v.cpu_seconds for v in chains["naive"]])) / (count * single_cpu),
    }
    # The chain's first window is a single window of the same seed: its frames decoded before the
    # next window exists must be the single window's (a check on the comparison, printed, not judged).
    from engine.generate.chain import decode_reach

    caps = backend.caps
    per_window = caps.latent_of_pixel(caps.frames_per_window - 1) + 1
    first_shared = caps.pixel_frames_of_latent(per_window - decode_reach(backend) - 1).stop if count > 1 else 0
    seed = chain_seeds[0]
    if seed in single_frames and first_shared:
        difference = np.abs(chains["kinora"][0].frames[:first_shared].astype(int)
                            - single_frames[seed][:first_shared].astype(int)).max()
        result["time"]["first_window_max_difference"] = float(difference)
    result["details"] = {kind: [{"seed": v.seed, "drift_per_window": [round(d, 3) for d in m.drift_per_window],
                                 "seam_ratios": [round(r, 3) for r in m.seam_ratios],
                                 "local_seam_ratios": [round(r, 3) for r in m.local_seam_ratios],
                                 "interior_ratios": [round(r, 3) for r in m.interior_ratios],
                                 "windows_all_right": [ok["all"] for ok in m.judged],
                                 "subject_speed": [round(v, 2) for v in m.speeds],
                                 "subject_area": [round(a, 1) for a in m.areas]}
                                for v, m in zip(chains[kind], measured[kind])] for kind in chains}
    return result


def table(result: dict) -> str:
    k, n, s, t = result["kinora"], result["naive"], result["single"], result["time"]
    rows = [
        ("colour drift, first to last window (CIEDE2000, mean over seeds)", k["drift"], n["drift"], "<= 3"),
        ("colour drift, worst window against the first", k["drift_worst_window"], n["drift_worst_window"], ""),
        ("worst seam / median consecutive difference", k["seam_ratio"], n["seam_ratio"], "<= 1.5"),
        ("median seam / median consecutive difference", k["seam_ratio_median"], n["seam_ratio_median"], ""),
        ("the same step inside the windows / median (median)", k["interior_ratio_median"],
         n["interior_ratio_median"], ""),
        ("the same step inside the windows / median (worst)", k["interior_ratio_worst"], n["interior_ratio_worst"], ""),
        ("share of seams within 1.5", k["seams_within"], n["seams_within"],
         f"single windows, no seam: {s.get('no_seam_within', float('nan')):.2f}"),
        ("share of the steps inside the windows within 1.5", k["interiors_within"], n["interiors_within"], ""),
        ("worst seam / the same step inside the window", k["seam_over_interior"], n["seam_over_interior"], ""),
        ("largest step a latent frame either side of a seam / median", k["span_ratio"], n["span_ratio"], ""),
        ("worst seam / median step of the two windows it joins", k["seam_ratio_local"], n["seam_ratio_local"], ""),
        ("  share within 1.5", k["seams_within_local"], n["seams_within_local"], ""),
        ("adherence per window (colour, shape, motion all right)", k["adherence"], n["adherence"],
         f">= single {s['adherence']:.2f}"),
        ("  colour right", k["adherence_colour"], n["adherence_colour"], f"single {s['adherence_colour']:.2f}"),
        ("  shape right", k["adherence_shape"], n["adherence_shape"], f"single {s['adherence_shape']:.2f}"),
        ("  motion right", k["adherence_motion"], n["adherence_motion"], f"single {s['adherence_motion']:.2f}"),
        ("adherence of windows after the first", k["adherence_later_windows"], n["adherence_later_windows"], ""),
        ("subject speed, pixels a frame (mean over windows)", k["subject_speed"], n["subject_speed"],
         f"single {s.get('subject_speed', float('nan')):.2f}"),
        ("  in the last window", k["subject_speed_last"], n["subject_speed_last"], ""),
        ("subject area, pixels (mean over windows)", k["subject_area"], n["subject_area"],
         f"single {s.get('subject_area', float('nan')):.0f}"),
        ("  in the last window", k["subject_area_last"], n["subject_area_last"], ""),
        ("time / sum of the windows alone (wall)", t["time_ratio"], t["naive_time_ratio"], "<= 1.1"),
        ("CPU time / sum of the windows alone", t["cpu_ratio"], t["naive_cpu_ratio"], "<= 1.1"),
    ]
    lines = ["| measure | Kinora chain | naive chain | target |", "|---|---|---|---|"]
    lines += [f"| {name} | {a:.3f} | {b:.3f} | {target} |" for name, a, b, target in rows]
    lines.append(f"single windows, the step where a seam would be / their median: median "
                 f"{s.get('no_seam_median', float('nan')):.3f}, worst of 9 (median) "
                 f"{s.get('no_seam_worst_of_9', float('nan')):.3f}")
    lines.append(f"single windows: adherence {s['adherence']:.3f}; chain {t['chain_seconds']:.0f} s, naive "
                 f"{t['naive_seconds']:.0f} s, a window alone {t['single_seconds']:.1f} s (wall)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.toyworld.evaluate_windows",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2, help="chains of each kind (seeds FIRST, FIRST + 1, ...)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--singles", type=int, default=10, help="single windows (seeds 0, 1, ...)")
    parser.add_argument("--first-single", type=int, default=0, help="the first single window's seed")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's own)")
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE")
    parser.add_argument("--keep", metavar="DIR", help="write the long videos into DIR as MP4 files")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from engine.generate.settings import SamplingSettings

    backend = load_backend(resolve(args.model), device="cpu")
    seeds = tuple(range(args.first_seed, args.first_seed + args.seeds))
    with tempfile.TemporaryDirectory(prefix="kinora-windows-") as folder:
        result = evaluate_windows(backend, SamplingSettings(steps=args.steps), Path(folder), prompt=args.prompt,
                                  count=args.windows, chain_seeds=seeds, singles=args.singles,
                                  keep=Path(args.keep) if args.keep else None,
                                  log=lambda m: print(m, file=sys.stderr, flush=True), first_single=args.first_single)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
