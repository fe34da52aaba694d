"""Quality harness of the bundled model: `python -m engine.toyworld.evaluate [--model DIR]`.

Every video is generated through Kinora's own engine (the tool recipes of
engine.generate.tools, run by engine.generate.run on the LTX backend), then measured with the
OpenCV detectors of engine.toyworld.detect against what the prompt or the source asked for.
Source clips are rendered by the procedural world and written as MP4 files, as a user's would be.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.toyworld import detect
from engine.toyworld.world import (
    BACKGROUNDS,
    COLOURS,
    MOTIONS,
    SHAPES,
    ObjectSpec,
    SceneSpec,
    parse_caption,
    random_object,
    render_scene,
)

RATE = 25
# Motions with visible change between consecutive frames: seams and continuity are measured
# against that change, so still sources would make the ratios meaningless.
MOVING = ("moving left", "moving right", "moving up", "moving down", "bouncing", "growing", "shrinking")


@dataclass(frozen=True, slots=True)
class Threshold:
    name: str
    value: float
    higher_is_better: bool

    def met(self, measured: float) -> bool:
        return measured >= self.value if self.higher_is_better else measured <= self.value


THRESHOLDS = {
    "prompt_adherence": Threshold("colour, shape and motion all right", 0.85, True),
    "held_frame_psnr_gap": Threshold("held-frame PSNR below the VAE round trip (dB)", 1.0, False),
    "loop_seam_ratio": Threshold("loop seam / median consecutive difference", 1.3, False),
    "storyboard_adherence": Threshold("storyboard frames matching their prompt", 0.85, True),
    "blend_correlation": Threshold("Pearson r of A/B similarity with the drawn curve", 0.85, True),
    "extend_continuity_ratio": Threshold("first new frame difference / median consecutive", 1.5, False),
    "extend_colour_drift": Threshold("background CIEDE2000 after three extensions", 3.0, False),
}


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many videos each measurement uses (the documented table uses the defaults)."""

    prompts: int = 60
    storyboards: int = 12
    blends: int = 8
    loops: int = 8
    extends: int = 6
    chains: int = 3
    roundtrips: int = 60


SMALL = Sizes(prompts=12, storyboards=3, blends=2, loops=8, extends=6, chains=1, roundtrips=12)
PARTS = ("prompts", "extend", "loop", "storyboard", "blend", "vae")


@dataclass
class Report:
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        rows = [("metric", "measured", "threshold", "met")]
        for key, threshold in THRESHOLDS.items():
            if key in self.metrics:
                value = self.metrics[key]
                sign = ">=" if threshold.higher_is_better else "<="
                rows.append((threshold.name, f"{value:.3f}", f"{sign} {threshold.value:g}",
                             "yes" if threshold.met(value) else "no"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        if len(rows) == 1:
            lines = []
        if "vae_all" in self.metrics:
            m = self.metrics
            lines.append(f"VAE round trips of rendered clips (the ceiling of any transformer on this VAE): colour "
                         f"{m['vae_colour']:.3f}, shape {m['vae_shape']:.3f}, motion {m['vae_motion']:.3f}, "
                         f"all three {m['vae_all']:.3f}")
        return "\n".join(lines)


def evaluation_prompts(count: int) -> list[str]:
    """A fixed, balanced prompt list: every colour, shape, motion and background in turn."""
    prompts = []
    for i in range(count):
        motion = MOTIONS[i % len(MOTIONS)]
        shapes = [s for s in SHAPES if not (motion == "spinning" and s == "circle")]
        shape = shapes[(i // len(MOTIONS)) % len(shapes)]
        colour = list(COLOURS)[i % len(COLOURS)]
        background = BACKGROUNDS[(i // 3) % len(BACKGROUNDS)]
        scene = SceneSpec((ObjectSpec(colour, shape, motion, 0.5, 0.5, 0.12),), background)
        prompts.append(scene.caption())
    return prompts


def source_scene(index: int, motions=MOVING) -> SceneSpec:
    rng = np.random.default_rng(10_000 + index)
    motion = motions[index % len(motions)]
    obj = random_object(rng, colour=list(COLOURS)[index % len(COLOURS)], motion=motion)
    return SceneSpec((obj,), BACKGROUNDS[index % len(BACKGROUNDS)], index)


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def consecutive_differences(frames: np.ndarray) -> np.ndarray:
    return np.array([mean_abs_difference(a, b) for a, b in zip(frames[:-1], frames[1:])])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def judge(frames: np.ndarray, colour: str, shape: str, motion: str) -> tuple[dict[str, bool], detect.Track | None]:
    """Whether the largest object the detectors find has this colour, shape and motion (and "all"
    three), and the track found."""
    tracks = detect.detect_clip(frames, max_objects=1)
    found = tracks[0] if tracks else None
    ok = {"colour": bool(found and found.colour == colour), "shape": bool(found and found.shape == shape),
          "motion": bool(found and found.motion == motion)}
    ok["all"] = all(ok.values())
    return ok, found


def rates(judged: list[dict[str, bool]]) -> dict[str, float]:
    """The share of `judge` verdicts that are right, per key."""
    return {key: sum(ok[key] for ok in judged) / len(judged) for key in judged[0]}


class Harness:
    def __init__(self, backend, settings, folder: Path, width: int = 64, height: int = 64, num_frames: int = 25,
                 log=print) -> None:
        self.backend, self.settings, self.folder = backend, settings, folder
        self.width, self.height, self.num_frames = width, height, num_frames
        self.log = log

    def _write_source(self, name: str, frames: np.ndarray) -> tuple[str, np.ndarray]:
        """Write frames as an MP4 and return its path and the frames as decoded back (what the tools read)."""
        from engine.generate.media_io import read_video, write_video

        path = self.folder / f"{name}.mp4"
        write_video(path, frames, RATE)
        return str(path), read_video(path)

    def _run(self, recipe, seed: int):
        from dataclasses import replace

        from engine.generate.run import run_recipe

        frames, result = run_recipe(self.backend, recipe, replace(self.settings, seed=seed))
        return frames[0], result

    # -- measurements --------------------------------------------------------------------------

    def prompt_adherence(self, count: int) -> dict:
        from engine.generate.tools import text_to_video

        judged, failures = [], []
        for i, prompt in enumerate(evaluation_prompts(count)):
            recipe = text_to_video(self.backend.caps, width=self.width, height=self.height,
                                   num_frames=self.num_frames, rate=RATE, prompt=prompt)
            frames, _ = self._run(recipe, seed=i)
            (colour, shape, motion), = parse_caption(prompt)[0]
            ok, found = judge(frames, colour, shape, motion)
            judged.append(ok)
            if not ok["all"]:
                failures.append(f"{prompt} -> {(found.colour, found.shape, found.motion) if found else 'nothing'}")
        result = rates(judged)
        self.log(f"prompt adherence {result}")
        return {"prompt_adherence": result["all"], "prompt_colour": result["colour"],
                "prompt_shape": result["shape"], "prompt_motion": result["motion"], "prompt_failures": failures}

    def vae_ceiling(self, count: int) -> dict:
        """What the detectors find in VAE round trips of rendered single-object clips: no transformer
        can draw a shape better than the VAE decodes it."""
        judged = []
        for i in range(count):
            scene = source_scene(1000 + i, motions=MOTIONS)
            obj = scene.objects[0]
            roundtrip = self._roundtrip(render_scene(scene, self.width, self.height, self.num_frames))
            judged.append(judge(roundtrip, obj.colour, obj.shape, obj.motion)[0])
        result = {f"vae_{key}": value for key, value in rates(judged).items()}
        self.log(f"VAE round trips {result}")
        return result

    def held_frames_and_extend(self, count: int, chains: int) -> dict:
        """Extend forward: held-frame PSNR against the VAE round trip, the step into the new frames,
        and colour drift after three chained extensions."""
        from engine.generate.tools import extend

        gaps, ratios, drifts = [], [], []
        for i in range(count):
            path, source = self._write_source(f"extend-{i}", render_scene(source_scene(i), self.width, self.height,
                                                                          self.num_frames))
            prompt = source_scene(i).caption()
            recipe = extend(self.backend.caps, path, context=9, new_frames=16, width=self.width, height=self.height,
                            prompt=prompt)
            output, result = self._run(recipe, seed=100 + i)
            # Held frames: the first `context` generated frames stand for the source's last ones.
            generated = (np.clip(result.frames[0], 0, 1) * 255).round().astype(np.uint8)
            context = recipe.keep[0]
            held_source = source[-context:]
            roundtrip = self._roundtrip(held_source)
            gaps.append(psnr(roundtrip, held_source) - psnr(generated[:context], held_source))
            cut = len(source)
            ratios.append(mean_abs_difference(output[cut], output[cut - 1])
                          / max(np.median(consecutive_differences(output)), 1e-6))
            if i < chains:
                chained = output
                for k in range(2):
                    path, decoded = self._write_source(f"extend-{i}-{k + 1}", chained)
                    recipe = extend(self.backend.caps, path, context=9, new_frames=16, width=self.width,
                                    height=self.height, prompt=prompt)
                    chained, _ = self._run(recipe, seed=200 + 10 * i + k)
                drifts.append(detect.background_drift(source[-1], chained[-1]))
        self.log(f"held-frame PSNR gaps {np.round(gaps, 2).tolist()}, continuity {np.round(ratios, 2).tolist()}, "
                 f"drift {np.round(drifts, 2).tolist()}")
        return {"held_frame_psnr_gap": float(np.mean(gaps)), "extend_continuity_ratio": float(np.median(ratios)),
                "extend_colour_drift": float(np.mean(drifts)) if drifts else float("nan")}

    def _roundtrip(self, frames: np.ndarray) -> np.ndarray:
        import torch

        generator = torch.Generator().manual_seed(0)
        latents = self.backend.encode_frames(frames, generator)
        decoded = self.backend.decode(latents, self.settings)[0]
        return (np.clip(decoded, 0, 1) * 255).round().astype(np.uint8)

    def loop_seams(self, count: int) -> dict:
        from engine.generate.tools import loop

        ratios = []
        for i in range(count):
            scene = source_scene(50 + i)
            path, _ = self._write_source(f"loop-{i}", render_scene(scene, self.width, self.height, self.num_frames))
            recipe = loop(self.backend.caps, path, context=9, bridge=16, width=self.width, height=self.height,
                          prompt=scene.caption())
            output, _ = self._run(recipe, seed=300 + i)
            ratios.append(mean_abs_difference(output[-1], output[0])
                          / max(np.median(consecutive_differences(output)), 1e-6))
        self.log(f"loop seam ratios {np.round(ratios, 2).tolist()}")
        return {"loop_seam_ratio": float(np.median(ratios))}

    def storyboards(self, count: int, window: int = 2) -> dict:
        from engine.generate.tools import PromptSpan, storyboard

        matched = total = 0
        prompts = evaluation_prompts(2 * count + 7)[7:]
        tc = self.backend.caps.vae_temporal_compression
        for i in range(count):
            first, second = prompts[2 * i], prompts[2 * i + 1]
            cut = ((self.num_frames - 1) // tc // 2) * tc + 1
            recipe = storyboard(self.backend.caps, width=self.width, height=self.height, num_frames=self.num_frames,
                                rate=RATE, prompts=[PromptSpan(0, cut, first), PromptSpan(cut, self.num_frames, second)])
            frames, _ = self._run(recipe, seed=400 + i)
            for t, frame in enumerate(frames):
                if cut - window <= t < cut + window:
                    continue
                objects = parse_caption(first if t < cut else second)[0]
                matched += detect.frame_matches(frame, objects)
                total += 1
        self.log(f"storyboard frames matched {matched}/{total}")
        return {"storyboard_adherence": matched / max(total, 1)}

    def blends(self, count: int) -> dict:
        from engine.generate.tools import blend

        correlations = []
        for i in range(count):
            a_scene, b_scene = source_scene(70 + 2 * i), source_scene(71 + 2 * i)
            a_path, a = self._write_source(f"blend-{i}-a", render_scene(a_scene, self.width, self.height,
                                                                       self.num_frames))
            b_path, b = self._write_source(f"blend-{i}-b", render_scene(b_scene, self.width, self.height,
                                                                       self.num_frames))
            recipe = blend(self.backend.caps, a_path, b_path, preset="transition", num_frames=self.num_frames,
                           width=self.width, height=self.height, rate=RATE)
            frames, _ = self._run(recipe, seed=500 + i)
            plan = recipe.plan
            weight_of = {Path(plan.sources[layer.source].path).name: np.asarray(layer.pixel_weight, np.float64)
                         for layer in plan.layers}  # layers come top track first, so look them up by clip
            curve_a, curve_b = weight_of[Path(a_path).name], weight_of[Path(b_path).name]
            drawn = curve_a / np.maximum(curve_a + curve_b, 1e-6)
            d_a = np.array([mean_abs_difference(f, x) for f, x in zip(frames, a)])
            d_b = np.array([mean_abs_difference(f, x) for f, x in zip(frames, b)])
            share_a = d_b / np.maximum(d_a + d_b, 1e-6)  # 1 where the output is clip A, 0 where it is B
            correlations.append(float(np.corrcoef(share_a, drawn)[0, 1]))
        self.log(f"blend correlations {np.round(correlations, 3).tolist()}")
        return {"blend_correlation": float(np.mean(correlations))}


def evaluate(model: str | None = None, *, sizes: Sizes = Sizes(), steps: int | None = None,
             guidance: float | None = None, guidance_interval: tuple[float, float] | None = None,
             device: str | None = "cpu", log=print,
             only: tuple[str, ...] = ()) -> Report:
    """Generate and measure everything; `only` limits it to some of PARTS."""
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from engine.generate.settings import SamplingSettings

    started = time.monotonic()
    info = resolve(model)
    backend = load_backend(info, device=device)
    settings = SamplingSettings(steps=steps, guidance=guidance, guidance_interval=guidance_interval)
    report = Report()
    report.details["model"] = str(info.path)
    with tempfile.TemporaryDirectory(prefix="kinora-eval-") as folder:
        harness = Harness(backend, settings, Path(folder), log=log)
        parts = {
            "prompts": lambda: harness.prompt_adherence(sizes.prompts),
            "extend": lambda: harness.held_frames_and_extend(sizes.extends, sizes.chains),
            "loop": lambda: harness.loop_seams(sizes.loops),
            "storyboard": lambda: harness.storyboards(sizes.storyboards),
            "blend": lambda: harness.blends(sizes.blends),
            "vae": lambda: harness.vae_ceiling(sizes.roundtrips),
        }
        for name, part in parts.items():
            if only and name not in only:
                continue
            for key, value in part().items():
                if isinstance(value, float):
                    report.metrics[key] = value
                else:
                    report.details[key] = value
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.toyworld.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's own)")
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--guidance-interval", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="noise levels guided (default: the model's own)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--small", action="store_true", help="a quick run on a few videos per measurement")
    parser.add_argument("--only", nargs="*", default=(), choices=PARTS)
    parser.add_argument("--threads", type=int, help="CPU threads for torch")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    report = evaluate(args.model, sizes=SMALL if args.small else Sizes(), steps=args.steps, guidance=args.guidance,
                      guidance_interval=tuple(args.guidance_interval) if args.guidance_interval else None,
                      device=args.device, log=lambda m: print(m, file=sys.stderr, flush=True),
                      only=tuple(args.only))
    print(report.table())
    print(f"({report.seconds / 60:.1f} min)")
    if args.json:
        Path(args.json).write_text(json.dumps({"metrics": report.metrics, "details": report.details}, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
