"""Seconds per denoising step at the real model sizes: Kinora's backend vs the diffusers pipeline.

The one command, on a machine with one CUDA GPU (budget: under 8 minutes on one H200):

    python tests/bench/gpu_real_sizes.py

It writes the table as JSON to $OUT/gpu_real_sizes.json ($OUT unset: the current folder), or to
--out PATH; --family NAME (ltx, ltx2, wan, skyreels; repeatable) or --variant KEY runs a part;
--tiny runs the same code on the CPU with scaled-down configs (what
tests/bench/test_gpu_real_sizes_script.py checks on every machine). No model starts after 6
minutes (--stop-after); the JSON is rewritten after each model, so a cut-off run keeps what it
measured. Exit status: 0 when every model gave its figures, 1 when one failed or did not start,
2 without a CUDA GPU (the message says to add --tiny).

What it does, one model after another, freeing the GPU between them: builds every component of
the model from its real config (tests/bench/gpu_real_configs.py, written from the configs the
published checkpoints ship) with random weights, on the GPU itself, cast to bfloat16 the way
diffusers' from_pretrained casts a checkpoint (modules a class keeps in float32 stay float32). The
text encoder has the real output width and depth but tiny layers: it runs before the first step
and is not what is timed. The components are built in memory, not saved to a folder and loaded
back: writing and reading tens of GB of random weights would spend the GPU's short time on disk.
The same component objects then run
1. the diffusers pipeline (LTXPipeline, LTX2Pipeline, WanPipeline,
   SkyReelsV2DiffusionForcingPipeline), and after it
2. Kinora's backend for the family (engine.generate.backends, the class the family table names,
   built from the components as its loader builds it, everything on the GPU like the pipeline),
text to video with the same prompt, seed, steps and guidance (each family's shipped defaults),
stopping at the latents (no VAE decode). Then Kinora's keyframe fit at the same size (a
picture held on one frame, its latent frame refitted through the real decoder: seconds per step
and the memory it takes above what was allocated before, "fit s/step" and "fit GiB"). The pipeline runs first because Kinora's backend
installs its attention processors on the shared transformer; the first step of each run is its
warm-up and is not timed. Kinora's steps include the small preview picture it makes at every step
for the editor (it runs whenever progress is reported, as it is here). Each run makes 1 warm-up step and
3 timed steps: seconds per step is the median time between the ends of the timed steps (the GPU
synchronised at each), and peak memory is torch.cuda.max_memory_allocated over the run (the
shared weights included; "above weights" compares the peaks less what was allocated before each
run). A ratio above 1 means Kinora is slower or uses more.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the engine and tests packages, whatever the working folder

from tests.bench import gpu_real_configs as real  # noqa: E402

PROMPT = "a lighthouse on a cliff at dusk, waves breaking below, gulls circling in the wind"
SEED = 0
NO_GPU = ("tests/bench/gpu_real_sizes.py times the real model sizes and needs a CUDA GPU, and none is available "
          "here; run it on a machine with one, or add --tiny for the CPU check of the same code paths")


@dataclass(frozen=True)
class Variant:
    key: str
    family: str  # the row of engine.generate.backends.FAMILY_TABLE that runs it
    label: str
    pipeline: str  # the diffusers pipeline class it is compared with
    transformer: dict
    width: int
    height: int
    num_frames: int
    rate: int
    guidance: float  # the family's shipped default, on both sides
    max_sequence_length: int  # the pipeline's default, on both sides
    tiny_size: tuple[int, int, int]  # width, height, frames under --tiny (the same latent layout, fewer cells)
    vae: dict | None = None
    scheduler: dict | None = None
    index: tuple = ()  # model_index.json entries the family reads (Wan 2.2 TI2V's expand_timesteps)


# LTX-2 first (the model the GPU time is lent for), the longest (Wan 14B) last
VARIANTS = (
    Variant("ltx2-19b", "ltx2", "LTX-2 19B (video and sound)", "LTX2Pipeline", real.LTX2_TRANSFORMER, 768, 512, 121, 24,
            3.0, 1024, (64, 64, 9), real.LTX2_VAE, real.LTX2_SCHEDULER),
    Variant("ltx-2b", "ltx", "LTX-Video 0.9.x 2B", "LTXPipeline", real.LTX_2B_TRANSFORMER, 768, 512, 121, 25, 3.0,
            128, (64, 64, 9), real.LTX_095_VAE, real.LTX_SCHEDULER),
    Variant("ltx-13b", "ltx", "LTX-Video 0.9.7/0.9.8 13B", "LTXPipeline", real.LTX_13B_TRANSFORMER, 768, 512, 121, 25,
            3.0, 128, (64, 64, 9), real.LTX_095_VAE, real.LTX_SCHEDULER),
    Variant("wan-1.3b", "wan", "Wan2.1 T2V 1.3B", "WanPipeline", real.WAN_13B_TRANSFORMER, 832, 480, 81, 16, 5.0, 512,
            (32, 32, 5), real.WAN21_VAE, real.wan_scheduler(3.0)),
    Variant("wan22-5b", "wan", "Wan2.2 TI2V 5B", "WanPipeline", real.WAN22_5B_TRANSFORMER, 832, 480, 81, 16, 5.0, 512,
            (64, 64, 5), real.WAN22_VAE, real.wan_scheduler(5.0), (("expand_timesteps", True),)),
    Variant("skyreels-1.3b", "skyreels", "SkyReels-V2 DF 1.3B 540P", "SkyReelsV2DiffusionForcingPipeline",
            real.SKYREELS_DF_13B_TRANSFORMER, 960, 544, 97, 24, 6.0, 512, (32, 32, 5), real.WAN21_VAE,
            real.SKYREELS_SCHEDULER),
    Variant("wan-14b", "wan", "Wan2.1 T2V 14B", "WanPipeline", real.WAN_14B_TRANSFORMER, 832, 480, 81, 16, 5.0, 512,
            (32, 32, 5), real.WAN21_VAE, real.wan_scheduler(3.0)),
)


# -- building a model on the device ---------------------------------------------------------------

def _config(config: dict, tiny: bool, name: str) -> dict:
    return {**config, **real.TINY[name]} if tiny else dict(config)


def _cast_as_loaded(model, dtype):
    """Cast the weights the way diffusers' from_pretrained(torch_dtype=dtype) loads a checkpoint:
    every floating tensor of the state dict to `dtype` except those under a module the class keeps
    in float32 (`_keep_in_fp32_modules`); buffers outside the state dict stay as built."""
    import torch

    keep = getattr(model, "_keep_in_fp32_modules", None) or []
    saved = set(model.state_dict())
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if name in saved and tensor.is_floating_point():
            target = torch.float32 if any(part in name.split(".") for part in keep) else dtype
            if tensor.dtype != target:
                tensor.data = tensor.data.to(target)
    return model


def _build(cls, config: dict, device, dtype):
    """A diffusers model from its config with random weights, made on `device` (no CPU copy)."""
    import torch

    with torch.device(device):
        model = cls.from_config(config)
    return _cast_as_loaded(model, dtype).eval().requires_grad_(False)


def _t5(width: int, device, dtype):
    """A T5 encoder with the real output width (LTX's T5-XXL, Wan's UMT5-XXL: 4096) and tiny layers,
    and its tokenizer (ByT5's needs no files)."""
    import torch
    import transformers

    tokenizer = transformers.ByT5Tokenizer()
    with torch.device(device):
        encoder = transformers.T5EncoderModel(transformers.T5Config(
            vocab_size=len(tokenizer), d_model=width, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, is_encoder_decoder=False))
    return encoder.to(dtype).eval().requires_grad_(False), tokenizer


def _gemma(hidden: int, layers: int, device, dtype):
    """A Gemma 3 of the real width and depth (the connectors read all its hidden states) with tiny
    attention and MLP, and a BPE tokenizer trained on a few sentences."""
    import torch
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    from tests.generate.tiny_ltx2 import tiny_gemma_tokenizer

    tokenizer = tiny_gemma_tokenizer()
    config = Gemma3Config(
        text_config=Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=37,
                                     num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                                     head_dim=8, max_position_embeddings=2048, sliding_window=512),
        vision_config=SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=8, patch_size=4),
        mm_tokens_per_image=4, boi_token_index=1, eoi_token_index=1, image_token_index=4)
    with torch.device(device):
        encoder = Gemma3ForConditionalGeneration(config)
    return encoder.to(dtype).eval().requires_grad_(False), tokenizer


def build_components(variant: Variant, tiny: bool, device, dtype) -> dict:
    """Every component the pipeline takes, at the real size (or --tiny's), on `device`."""
    import diffusers

    family = variant.family
    if family == "ltx":
        transformer = _build(diffusers.LTXVideoTransformer3DModel, _config(variant.transformer, tiny, "ltx_transformer"),
                             device, dtype)
        vae = _build(diffusers.AutoencoderKLLTXVideo, _config(variant.vae, tiny, "ltx_vae"), device, dtype)
        text_encoder, tokenizer = _t5(transformer.config.caption_channels, device, dtype)
        return {"transformer": transformer, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
                "scheduler": diffusers.FlowMatchEulerDiscreteScheduler.from_config(variant.scheduler)}
    if family == "ltx2":
        from diffusers.pipelines.ltx2 import LTX2TextConnectors
        from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

        gemma = _config(real.LTX2_GEMMA, tiny, "ltx2_gemma")
        text_encoder, tokenizer = _gemma(gemma["hidden_size"], gemma["num_hidden_layers"], device, dtype)
        return {
            "transformer": _build(diffusers.LTX2VideoTransformer3DModel,
                                  _config(variant.transformer, tiny, "ltx2_transformer"), device, dtype),
            "vae": _build(diffusers.AutoencoderKLLTX2Video, _config(variant.vae, tiny, "ltx2_vae"), device, dtype),
            "audio_vae": _build(diffusers.AutoencoderKLLTX2Audio, _config(real.LTX2_AUDIO_VAE, tiny, "ltx2_audio_vae"),
                                device, dtype),
            "vocoder": _build(LTX2Vocoder, _config(real.LTX2_VOCODER, tiny, "ltx2_vocoder"), device, dtype),
            "connectors": _build(LTX2TextConnectors, _config(real.LTX2_CONNECTORS, tiny, "ltx2_connectors"),
                                 device, dtype),
            "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": diffusers.FlowMatchEulerDiscreteScheduler.from_config(variant.scheduler)}
    transformer_class = (diffusers.SkyReelsV2Transformer3DModel if family == "skyreels"
                         else diffusers.WanTransformer3DModel)
    transformer = _build(transformer_class, _config(variant.transformer, tiny, "wan_transformer"), device, dtype)
    vae_tiny = "wan22_vae" if variant.vae is real.WAN22_VAE else "wan_vae"
    vae = _build(diffusers.AutoencoderKLWan, _config(variant.vae, tiny, vae_tiny), device, dtype)
    text_encoder, tokenizer = _t5(transformer.config.text_dim, device, dtype)
    return {"transformer": transformer, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": diffusers.UniPCMultistepScheduler.from_config(variant.scheduler)}


# -- the two sides ---------------------------------------------------------------------------------

def _stg_block(components: dict) -> int:
    """LTX2Pipeline's default perturbed block (28), or the last one of a transformer with fewer."""
    layers = components["transformer"].config.num_layers
    return 28 if layers > 28 else layers - 1


def run_pipeline(variant: Variant, components: dict, size, steps: int, stamp) -> None:
    import diffusers
    import torch

    width, height, num_frames = size
    pipe = getattr(diffusers, variant.pipeline)(**components, **dict(variant.index))
    pipe.set_progress_bar_config(disable=True)

    def on_step_end(_pipe, _i, _t, _tensors):
        stamp()
        return {}

    kwargs = {"height": height, "width": width, "num_frames": num_frames, "num_inference_steps": steps,
              "guidance_scale": variant.guidance, "max_sequence_length": variant.max_sequence_length,
              "generator": torch.Generator().manual_seed(SEED), "output_type": "latent"}
    if variant.family == "ltx":
        kwargs["frame_rate"] = variant.rate
    elif variant.family == "ltx2":
        kwargs.update(frame_rate=float(variant.rate), spatio_temporal_guidance_blocks=[_stg_block(components)])
    elif variant.family == "skyreels":
        kwargs["fps"] = variant.rate
        if importlib.util.find_spec("ftfy") is None:
            # The pipeline's prompt cleaning needs the optional ftfy package; WanPipeline's copy of the same
            # encoder code does without it, so the prompt embeddings come from there when it is missing.
            def embed(text):
                return diffusers.WanPipeline._get_t5_prompt_embeds(
                    pipe, prompt=text, max_sequence_length=variant.max_sequence_length,
                    device=pipe._execution_device, dtype=pipe.text_encoder.dtype)

            pipe(None, prompt_embeds=embed(PROMPT), negative_prompt_embeds=embed(""), callback_on_step_end=on_step_end,
                 **kwargs)
            return

    pipe(PROMPT, callback_on_step_end=on_step_end, **kwargs)


def kinora_backend(variant: Variant, components: dict, device, dtype):
    """The family's backend class (from the one family table) built from the components the way
    its `load` builds it from a model folder, with everything on the device like the pipeline."""
    from engine.generate.backends import backend_class, family_named
    from engine.generate.models import MemoryOptions

    cls = backend_class(family_named(variant.family))
    if variant.family in ("wan", "skyreels"):
        return cls(components, dict(variant.index), device, dtype, MemoryOptions(), name=variant.key)
    return cls(components, device, dtype, MemoryOptions(), name=variant.key)


def run_kinora(variant: Variant, backend, size, steps: int, stamp) -> None:
    from engine.generate import tools
    from engine.generate.settings import SamplingSettings

    width, height, num_frames = size
    recipe = tools.text_to_video(backend.caps, num_frames=num_frames, width=width, height=height, rate=variant.rate,
                                 prompt=PROMPT)
    if variant.family == "ltx2":  # LTX-2's shipped guidance (cfg 3, audio 7, STG, modality, rescale), as the pipeline
        settings = SamplingSettings(steps=steps, seed=SEED, max_sequence_length=variant.max_sequence_length,
                                    guidance_terms=(("stg_block", float(_stg_block({"transformer": backend.transformer}))),))
    else:
        settings = SamplingSettings(steps=steps, guidance=variant.guidance, seed=SEED,
                                    max_sequence_length=variant.max_sequence_length)
    backend.generate(recipe.plan, settings, on_step=lambda _progress: stamp(), decode=False)


def measure_fit(backend, size, device, steps: int) -> dict:
    """The keyframe fit (engine.generate.keyframe_fit) at this size: a picture held on one frame
    inside a latent frame of random latents, refitted for 1 warm-up step and then `steps` steps
    through the real decoder (checkpointed on a GPU, as the fit runs there). Seconds per step and
    the peak memory above what was allocated before."""
    import tempfile

    import numpy as np
    import torch
    from PIL import Image

    from engine.generate import tools
    from engine.generate.keyframe_fit import fit_keyframes
    from engine.generate.settings import SamplingSettings

    width, height, num_frames = size
    caps = backend.caps
    tc = caps.vae_temporal_compression
    frame = tc * (caps.num_latent_frames(num_frames) // 2) - tc // 2  # inside a latent frame near the middle
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "keyframe.png"
        Image.fromarray((np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)).save(path)
        plan = tools.storyboard(caps, width=width, height=height, num_frames=num_frames, rate=24, prompt=PROMPT,
                                cards=[tools.Card(str(path), frame)]).plan
        latents = torch.randn((1, backend.latent_channels, plan.num_latent_frames, height // caps.vae_spatial_compression,
                               width // caps.vae_spatial_compression), generator=torch.Generator().manual_seed(SEED))
        settings = SamplingSettings(seed=SEED)
        cuda = device.type == "cuda"

        def run(count: int) -> float:
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            fit_keyframes(backend, plan, latents, settings, steps=count, stop_at_round_trip=False)
            if cuda:
                torch.cuda.synchronize(device)
            return time.perf_counter() - start

        free_device()
        run(1)  # warm-up
        free_device()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) if cuda else None
        seconds = run(steps)
        peak = torch.cuda.max_memory_allocated(device) if cuda else None
    # a fit of n steps decodes n + 1 times (the last without a gradient)
    return {"seconds_per_step": seconds / steps, "seconds": seconds, "steps": steps,
            "above_before_bytes": None if peak is None else peak - before}


# -- timing ----------------------------------------------------------------------------------------

def free_device() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def measure(run, device, warmup: int, timed: int) -> dict:
    """Run `run(stamp)` for warmup + timed steps; seconds of each timed step and peak memory."""
    import torch

    cuda = device.type == "cuda"
    stamps: list[float] = []

    def stamp() -> None:
        if cuda:
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())

    free_device()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device) if cuda else None
    start = time.perf_counter()
    run(stamp)
    stamp()
    total = time.perf_counter() - start
    steps = [later - earlier for earlier, later in zip(stamps[warmup - 1:warmup + timed - 1], stamps[warmup:warmup + timed])]
    if len(stamps) < warmup + timed or len(steps) != timed:
        raise RuntimeError(f"expected {warmup + timed} step callbacks, got {len(stamps) - 1}")
    return {"seconds_per_step": statistics.median(steps), "step_seconds": steps, "call_seconds": total,
            "memory_before_bytes": before, "peak_bytes": torch.cuda.max_memory_allocated(device) if cuda else None}


def run_variant(variant: Variant, tiny: bool, device, dtype, warmup: int, timed: int) -> dict:
    import torch

    size = variant.tiny_size if tiny else (variant.width, variant.height, variant.num_frames)
    free_device()
    # what the models before left allocated (nothing, unless something of theirs is kept alive)
    left_over = torch.cuda.memory_allocated(device) if device.type == "cuda" else None
    started = time.perf_counter()
    components = build_components(variant, tiny, device, dtype)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    built = time.perf_counter() - started
    params = sum(p.numel() for p in components["transformer"].parameters())
    steps = warmup + timed
    reference = measure(lambda stamp: run_pipeline(variant, components, size, steps, stamp), device, warmup, timed)
    backend = kinora_backend(variant, components, device, dtype)
    kinora = measure(lambda stamp: run_kinora(variant, backend, size, steps, stamp), device, warmup, timed)
    fit = measure_fit(backend, size, device, timed)

    def ratio(a, b):
        return a / b if a is not None and b else None

    def working(side):  # memory the run took above what was allocated before it (the shared weights)
        return None if side["peak_bytes"] is None else side["peak_bytes"] - side["memory_before_bytes"]

    return {"variant": variant.key, "family": variant.family, "label": variant.label, "pipeline": variant.pipeline,
            "size": "x".join(map(str, size)), "transformer_parameters": params, "build_seconds": built,
            "left_over_bytes": left_over,
            "kinora": kinora, "diffusers": reference, "keyframe_fit": fit,
            "step_ratio": ratio(kinora["seconds_per_step"], reference["seconds_per_step"]),
            "memory_ratio": ratio(kinora["peak_bytes"], reference["peak_bytes"]),
            "working_memory_ratio": ratio(working(kinora), working(reference))}


# -- the table -------------------------------------------------------------------------------------

def _gib(value) -> str:
    return "-" if value is None else f"{value / 2**30:.1f}"


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.2f}B" if parameters >= 1e8 else f"{parameters / 1e6:.2f}M"


def table(results: list[dict]) -> str:
    head = (f"{'model':<30} {'size':<12} {'params':>7} {'Kinora s/step':>13} {'diffusers s/step':>16} "
            f"{'ratio':>6} {'Kinora GiB':>10} {'diffusers GiB':>13} {'ratio':>6} {'above weights':>13} "
            f"{'fit s/step':>10} {'fit GiB':>7}")
    lines = [head, "-" * len(head)]
    for row in results:
        if "error" in row:
            lines.append(f"{row['label']:<30} {row['error']}")
            continue
        memory, above = (("-" if value is None else f"{value:.3f}")
                         for value in (row["memory_ratio"], row.get("working_memory_ratio")))
        lines.append(f"{row['label']:<30} {row['size']:<12} {_count(row['transformer_parameters']):>7} "
                     f"{row['kinora']['seconds_per_step']:>13.3f} {row['diffusers']['seconds_per_step']:>16.3f} "
                     f"{row['step_ratio']:>6.3f} {_gib(row['kinora']['peak_bytes']):>10} "
                     f"{_gib(row['diffusers']['peak_bytes']):>13} {memory:>6} {above:>13} "
                     f"{row['keyframe_fit']['seconds_per_step']:>10.3f} {_gib(row['keyframe_fit']['above_before_bytes']):>7}")
    return "\n".join(lines)


def parse_args(argv=None):
    from engine.generate.backends import FAMILY_TABLE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="scaled-down configs of the same classes, on the CPU")
    parser.add_argument("--family", action="append", choices=[f.name for f in FAMILY_TABLE],
                        help="run only this family (repeatable)")
    parser.add_argument("--variant", action="append", choices=[v.key for v in VARIANTS],
                        help="run only this model (repeatable)")
    parser.add_argument("--out", help="where the JSON goes (default: $OUT/gpu_real_sizes.json, or ./ without $OUT)")
    parser.add_argument("--warmup", type=int, default=1, help="steps run before the timed ones (at least 1)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps")
    parser.add_argument("--stop-after", type=float, default=6.0, metavar="MINUTES",
                        help="start no further model after this long, so the run ends in the time lent (default 6)")
    args = parser.parse_args(argv)
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import diffusers
    import torch

    from engine.generate.models import pick_device

    if not args.tiny and not torch.cuda.is_available():
        print(NO_GPU, file=sys.stderr)
        return 2
    device, dtype = pick_device("cpu" if args.tiny else "cuda")
    torch.set_grad_enabled(False)
    chosen = [v for v in VARIANTS if (not args.family or v.family in args.family)
              and (not args.variant or v.key in args.variant)]
    if not chosen:
        print("no model is both in --family and --variant; choose a variant of the family", file=sys.stderr)
        return 2
    out = Path(args.out or Path(os.environ.get("OUT") or ".") / "gpu_real_sizes.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"mode": "tiny" if args.tiny else "real",
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "dtype": str(dtype).removeprefix("torch."), "torch": torch.__version__, "diffusers": diffusers.__version__,
              "warmup_steps": args.warmup, "timed_steps": args.steps, "seed": SEED, "results": []}
    print(f"{report['mode']} sizes on {report['device']} ({report['dtype']}), torch {torch.__version__}, "
          f"diffusers {diffusers.__version__}: {len(chosen)} models, {args.warmup} warm-up + {args.steps} timed steps",
          flush=True)
    run_started = time.perf_counter()
    for variant in chosen:
        started = time.perf_counter()
        row = {"variant": variant.key, "family": variant.family, "label": variant.label}
        if started - run_started > args.stop_after * 60:
            row["error"] = f"not started: {args.stop_after:g} minutes had passed (--stop-after)"
        else:
            try:
                row = run_variant(variant, args.tiny, device, dtype, args.warmup, args.steps)
            except Exception as error:  # noqa: BLE001 - one model failing must not lose the others' figures
                traceback.print_exc()
                row["error"] = f"failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
            free_device()  # the model built for this row is unreferenced now
        row["wall_seconds"] = time.perf_counter() - started
        report["results"].append(row)
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")  # after each model: a cut-off run keeps its rows
        print(table([row]).splitlines()[-1], f"({row['wall_seconds']:.0f} s)", flush=True)
        if (row.get("left_over_bytes") or 0) > 2**28:
            print(f"  {_gib(row['left_over_bytes'])} GiB were still allocated from the models before this one "
                  "(something of theirs is kept alive): its GiB columns include them", flush=True)
    print()
    print(table(report["results"]))
    print(f"\nwritten to {out}")
    return 1 if any("error" in row for row in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
