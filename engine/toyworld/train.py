"""Train the bundled default model from a seed: `python -m engine.toyworld.train --out DIR`.

Three stages, all on clips rendered by engine.toyworld.world (no dataset files):

1. VAE (AutoencoderKLLTXVideo): L1 + MSE reconstruction of short clips, object pixels weighted
   up, an L1 term on spatial gradients (edges tell a square from a circle) and a small KL term.
   Its latents' per-channel mean and std are then measured and stored in the VAE
   (`latents_mean`/`latents_std`), which is how the LTX backend normalises latents.
2. Transformer (LTXVideoTransformer3DModel) and text encoder (T5 over ByT5 bytes), VAE frozen,
   with rectified-flow matching exactly as the backend samples: `x = (1 - s) x0 + s noise`,
   target `noise - x0`, timestep `s * 1000`, latents packed frame/row/column. Each latent
   frame gets its own noise level (diffusion forcing): whole clips at one level, independent
   levels, and clips with held (clean) frames at the start, the end, both ends or anywhere, so
   image-to-video, extend, loop, blend and storyboard plans are all things the model has seen.
   Storyboard and dissolve clips carry a caption per latent frame, applied with the same
   per-frame cross-attention bias the backend builds; 10% of captions are dropped to "" so
   classifier-free guidance has an unconditional model. Latent tokens that show an object weigh
   more in the loss. With `--latent-cache N` the clips are encoded once; the exported weights
   are a moving average (EMA) of the trained ones.
3. Decoder (`--decoder-steps N`, optional): the VAE decoder alone on whole clips, the encoder
   and so the latents fixed (the transformer needs no retraining). Stage 1 saw five frames at a
   time; a generation is decoded 25 or more at once, with held frames next to generated ones,
   so some clips get disturbed neighbours (see `disturb_neighbours`).

Checkpoints (safetensors, written atomically) let a run stop and continue with `--resume`
(`--reopen-vae` trains a finished run's VAE further; `--layers N` deepens a resumed run's
transformer without changing what it computes, see `grow_transformer`, and starts a new
learning-rate cycle); the diffusers-format model is exported to DIR/model after each stage and
every `--export-every` steps. `--from-model DIR` starts a new run at stage 2 from an exported model
(see `load_exported`); `--device cuda` trains on a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from engine.toyworld.checkpoint import (
    CHECKPOINT,
    checkpoint_model,
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
)
from engine.toyworld.data import (
    LATENT_CACHE,
    LatentCache,
    clip_seed,
    encode_clips,
    log,
    long_batch,
    object_weights,
    render_batch,
    to_pixels,
)
from engine.toyworld.model import MICRO, ModelConfig, grow_transformer

UNCONDITIONAL = ""  # what the sampler's unconditional half gets when no negative prompt is given


@dataclass(frozen=True, slots=True)
class TrainConfig:
    seed: int = 1234
    vae_steps: int = 1000
    vae_batch: int = 4
    vae_frames: int = 5  # short clips: the VAE is convolutional, so it generalises to longer ones
    vae_lr: float = 5e-4
    kl_weight: float = 1e-4
    object_weight: float = 10.0
    edge_weight: float = 1.0  # L1 on spatial gradients: edges are what tells a square from a circle
    stats_clips: int = 64
    dit_steps: int = 700
    dit_batch: int = 8
    dit_lr: float = 7e-4
    warmup: int = 50
    caption_dropout: float = 0.1
    object_token_weight: float = 4.0  # latent tokens with an object in them weigh this much more in the flow loss
    latent_cache: int = 0  # >0: encode this many clips once and train on them (each step draws from the cache)
    ema_decay: float = 0.999  # the exported transformer and text encoder are this moving average of their weights
    decoder_steps: int = 0  # then the decoder alone, on whole clips, encoder (and so the latents) fixed
    decoder_frames: int = 17
    decoder_lr: float = 2e-4
    decoder_disturbed: float = 0.5  # share of decoder clips with disturbed neighbours (see disturb_neighbours)


def optimise(optimizer, loss, params) -> None:
    """One optimiser step on `loss`, gradients clipped to norm 1."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


# -- stage 1: the VAE ----------------------------------------------------------------------------------

def _weighted_mean(error, weights):
    return (error * weights).mean() / weights.mean() if weights is not None else error.mean()


def reconstruction_loss(decoded, pixels, weights=None, edge_weight: float = 0.0):
    """L1 + MSE per pixel, plus L1 on spatial gradients, each a `weights`-weighted mean."""
    reconstruction = _weighted_mean((decoded - pixels).abs() + (decoded - pixels).pow(2), weights)
    if edge_weight:
        for axis in (3, 4):  # rows, columns
            difference = decoded.diff(dim=axis) - pixels.diff(dim=axis)
            w = weights.narrow(axis, 1, weights.shape[axis] - 1) if weights is not None else None
            reconstruction = reconstruction + edge_weight * _weighted_mean(difference.abs(), w)
    return reconstruction


def vae_loss(vae, pixels, kl_weight: float, weights=None, generator=None, edge_weight: float = 0.0):
    posterior = vae.encode(pixels).latent_dist
    latents = posterior.sample(generator)
    reconstruction = reconstruction_loss(vae.decode(latents).sample, pixels, weights, edge_weight)
    kl = 0.5 * (posterior.mean.pow(2) + posterior.var - 1.0 - posterior.logvar).mean()
    return reconstruction + kl_weight * kl, reconstruction


def disturb_neighbours(latents, share: float, temporal_compression: int, generator):
    """(latents, pixel-frame weights (B, F)): in `share` of the clips, some latent frames are pulled
    part of the way (30-100%) to another clip's and their pixel frames weigh 0.

    A held frame of a generation is decoded next to generated ones, which are never quite the
    source's; trained on this, the decoder renders a latent frame faithfully whatever its
    neighbours are. Each disturbed clip keeps at least one latent frame as it was.
    """
    import torch

    b, _c, count = latents.shape[:3]
    num_frames = 1 + (count - 1) * temporal_compression
    disturbed = torch.zeros(b, count, dtype=torch.bool)
    for i in range(b):
        if count > 1 and float(torch.rand((), generator=generator)) < share:
            pick = torch.rand(count, generator=generator) < 1 / 3
            kept = int(torch.randint(0, count, (), generator=generator))
            pick[kept] = False
            if not bool(pick.any()):
                pick[(kept + 1 + int(torch.randint(0, count - 1, (), generator=generator))) % count] = True
            disturbed[i] = pick
    amount = (0.3 + 0.7 * torch.rand(b, 1, count, 1, 1, generator=generator)) * disturbed.view(b, 1, count, 1, 1)
    latents = latents + amount.to(latents.device) * (latents.roll(1, dims=0) - latents)
    latent_of_frame = torch.tensor([0] + [1 + (p - 1) // temporal_compression for p in range(1, num_frames)])
    return latents, (~disturbed[:, latent_of_frame]).float()


def decoder_loss(vae, seeds: list[int], config: ModelConfig, train: TrainConfig, device: str):
    """Stage 3's loss on the clips of `seeds`: encoded by the frozen encoder, some neighbours
    disturbed, decoded and weighed like stage 1's reconstruction."""
    import torch

    _clips, frames = render_batch(seeds, config, train.decoder_frames)
    pixels = to_pixels(frames).to(device)
    generator = torch.Generator().manual_seed(seeds[0])
    with torch.no_grad():
        latents = vae.encode(pixels).latent_dist.sample(generator)
    latents, frame_weights = disturb_neighbours(latents, train.decoder_disturbed, config.temporal_compression,
                                                generator)
    weights = object_weights(frames, train.object_weight).to(device) * frame_weights[:, None, :, None, None].to(device)
    return reconstruction_loss(vae.decode(latents).sample, pixels, weights, train.edge_weight)


def latent_statistics(vae, config: ModelConfig, train: TrainConfig):
    """Per-channel mean and std of the VAE's latents over `stats_clips` clips."""
    import torch

    seeds = [clip_seed(train.seed, 9, 0, i) for i in range(train.stats_clips)]
    samples = []
    with torch.no_grad():
        for start in range(0, len(seeds), 8):
            _clips, frames = render_batch(seeds[start:start + 8], config, config.num_frames)
            samples.append(vae.encode(to_pixels(frames).to(vae.device)).latent_dist.mean.cpu())
    latents = torch.cat(samples).transpose(0, 1).flatten(1)
    return latents.mean(1), latents.std(1).clamp_min(1e-3)


# -- stage 2: transformer and text encoder -------------------------------------------------------------

def noise_levels(batch: int, num_latent_frames: int, shift: float, generator):
    """Per-latent-frame noise levels (B, F) in [0, 1]; 0 marks a held (clean) frame.

    Levels are drawn uniformly and then shifted as the sampler's schedule is, so training
    spends its effort where sampling does.
    """
    import torch

    def shifted(u):
        return shift * u / (1 + (shift - 1) * u)

    levels = torch.empty(batch, num_latent_frames)
    for b in range(batch):
        mode = float(torch.rand((), generator=generator))
        base = shifted(torch.rand((), generator=generator))
        if mode < 0.35:  # text to video: one level for the whole clip
            levels[b] = base
        elif mode < 0.55:  # diffusion forcing: independent levels
            levels[b] = shifted(torch.rand(num_latent_frames, generator=generator))
        else:  # held frames: image to video, extend, loop/blend ends, storyboard keyframes
            levels[b] = base
            held = torch.zeros(num_latent_frames, dtype=torch.bool)
            pattern = float(torch.rand((), generator=generator))
            k = 1 + int(torch.randint(0, max(1, num_latent_frames // 2), (), generator=generator))
            if pattern < 0.3:
                held[:k] = True
            elif pattern < 0.5:
                held[-k:] = True
            elif pattern < 0.8:
                held[:k] = True
                held[-(1 + int(torch.randint(0, k, (), generator=generator))):] = True
            else:
                held = torch.rand(num_latent_frames, generator=generator) < 0.3
            if bool(held.all()):
                held[int(torch.randint(0, num_latent_frames, (), generator=generator))] = False
            # Most held frames are exact; some are held only partly (influence curves below 1).
            partial = torch.rand(num_latent_frames, generator=generator) < 0.25
            partial_level = base * torch.rand(num_latent_frames, generator=generator)
            levels[b] = torch.where(held, torch.where(partial, partial_level, torch.zeros(())), levels[b])
    return levels


def text_batch(tokenizer, text_encoder, captions: list[tuple[str, ...]], config: ModelConfig, train: TrainConfig,
               generator):
    """Context (B, 2 * L, D) with each clip's prompts side by side, its padding mask, and the prompt slot of each latent frame (B, F).

    The cross-attention bias is built from these exactly as the backend builds it for several prompts.
    """
    import torch

    from engine.toyworld.world import latent_captions

    slots, prompt_of_frame = [], []
    for frame_captions in captions:
        per_frame = latent_captions(frame_captions, config.temporal_compression)
        if float(torch.rand((), generator=generator)) < train.caption_dropout:
            per_frame = [UNCONDITIONAL] * len(per_frame)
        unique = list(dict.fromkeys(per_frame))[:2]
        prompt_of_frame.append([unique.index(c) if c in unique else len(unique) - 1 for c in per_frame])
        slots.append(unique + [UNCONDITIONAL] * (2 - len(unique)))
    flat = [text for pair in slots for text in pair]
    inputs = tokenizer(flat, padding="max_length", max_length=config.max_sequence_length, truncation=True,
                       add_special_tokens=True, return_tensors="pt")
    embeds = text_encoder(inputs.input_ids.to(text_encoder.device))[0]
    context = embeds.reshape(len(captions), 2 * config.max_sequence_length, -1)
    text_mask = inputs.attention_mask.bool().reshape(len(captions), 2 * config.max_sequence_length)
    return context, text_mask, torch.tensor(prompt_of_frame)


def cross_attention_bias(text_mask, prompt_of_frame, tokens_per_frame: int, max_sequence_length: int):
    """(B, video tokens, text tokens) additive bias: each token sees only its own frame's prompt."""
    import torch

    token_prompt = prompt_of_frame.repeat_interleave(tokens_per_frame, dim=1)  # token order: frame, row, column
    slot = torch.arange(text_mask.shape[1], device=text_mask.device) // max_sequence_length
    allowed = (slot[None, None, :] == token_prompt[:, :, None]) & text_mask[:, None, :]
    return (1.0 - allowed.float()) * -10000.0


def flow_matching_loss(transformer, vae_latents, context, bias, levels, config: ModelConfig, generator,
                       token_weights=None):
    """Rectified-flow loss with a noise level per latent frame; held frames (level 0) carry no loss.

    `token_weights` (B, F, h, w), if given, weighs each latent token's error (objects above background).
    """
    import torch

    from engine.generate.backends.ltx import pack

    b, c, f, h, w = vae_latents.shape
    x0 = pack(vae_latents, 1, 1)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    sigma = levels.repeat_interleave(h * w, dim=1)[..., None]  # (B, tokens, 1)
    x = (1 - sigma) * x0 + sigma * noise
    rope_scale = (config.temporal_compression / config.fps, config.spatial_compression, config.spatial_compression)
    prediction = transformer(hidden_states=x, encoder_hidden_states=context, timestep=sigma[..., 0] * 1000.0,
                             encoder_attention_mask=bias, num_frames=f, height=h, width=w,
                             rope_interpolation_scale=rope_scale, return_dict=False)[0]
    weight = (sigma > 0).float()
    if token_weights is not None:
        weight = weight * token_weights.flatten(1)[..., None]  # same frame/row/column order as pack()
    error = (prediction - (noise - x0)).pow(2) * weight
    return error.sum() / (weight.sum() * c).clamp_min(1e-6)


# -- the run -------------------------------------------------------------------------------------------

def load_exported(folder: Path, modules: dict, config: ModelConfig) -> dict:
    """Load an exported model's VAE and text encoder into `modules`, and its transformer when it has
    the shape of `config`'s; returns what the run records of it (the data it was trained on)."""
    from engine.generate.models import load_component

    transformer_config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    same_shape = (transformer_config["num_attention_heads"], transformer_config["attention_head_dim"],
                  transformer_config["num_layers"]) == (config.heads, config.head_dim, config.layers)
    parts = {"vae": ("diffusers", "AutoencoderKLLTXVideo"), "text_encoder": ("transformers", "T5EncoderModel")}
    if same_shape:
        parts["transformer"] = ("diffusers", "LTXVideoTransformer3DModel")
    for name, (library, class_name) in parts.items():
        try:
            modules[name].load_state_dict(load_component(folder / name, library, class_name).state_dict())
        except RuntimeError as error:
            raise SystemExit(f"error: --from-model {folder}: its {name} is not the size this run trains "
                             f"({str(error).splitlines()[0]}); give a model trained with the same --micro setting") from None
    training = folder / "training.json"
    seen = json.loads(training.read_text(encoding="utf-8")).get("clips_seen", {}) if training.is_file() else {}
    return {"clips_seen": seen, "transformer": "kept" if same_shape else "new"}


def train(out: Path, config: ModelConfig = ModelConfig(), train_config: TrainConfig = TrainConfig(), *,
          resume: bool = False, device: str = "cpu", checkpoint_every: int = 50, export_every: int = 200,
          threads: int | None = None, reopen_vae: bool = False, start_from: Path | None = None,
          workers: int = 0) -> Path:
    """Train (or continue training) into `out`; returns the exported model folder `out/model`.

    `start_from` (a new run only) is an exported model folder: its VAE and text encoder are taken as
    trained, and its transformer too if it has this run's shape (else a new one is trained on them);
    the run starts at the transformer stage. `workers` > 1 renders the latent cache in that many processes.

    `reopen_vae` (with `resume`) goes back to the VAE stage of a run that has left it, at the step it
    ended on, so a larger `vae_steps` trains the VAE further; the transformer stage then starts again
    from step 0 (its latent space has moved) but from the weights it had.
    """
    import torch

    from engine.toyworld.model import (
        build_text_encoder,
        build_transformer,
        build_vae,
        save_pipeline,
        schedule_shift,
    )

    if threads:
        torch.set_num_threads(threads)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(train_config.seed)
    vae = build_vae(config)
    # A resumed run's transformer is loaded at its saved depth, then grown; asked for another
    # width (heads), the run gets a new transformer instead, on the trained VAE and text encoder.
    saved = checkpoint_model(out) if resume else None
    widened = saved is not None and saved["heads"] != config.heads
    saved_layers = saved["layers"] if saved is not None and not widened else config.layers
    transformer = build_transformer(replace(config, layers=saved_layers))
    tokenizer, text_encoder = build_text_encoder(config)
    modules = {"vae": vae, "transformer": transformer, "text_encoder": text_encoder}
    averaged = {}  # "ema_transformer" / "ema_text_encoder": moving averages, what is exported
    if train_config.ema_decay:
        import copy

        averaged = {f"ema_{name}": copy.deepcopy(modules[name]).requires_grad_(False)
                    for name in ("transformer", "text_encoder")}
        modules.update(averaged)
    progress = {"stage": "vae", "step": 0, "seconds": 0.0, "clips_seen": {"vae": 0, "transformer": 0},
                "model_config": config.to_json(), "train_config": asdict(train_config)}
    saved_optimizer = {}
    if resume and (out / CHECKPOINT).is_file():
        kept = {name: m for name, m in modules.items() if not (widened and name in ("transformer", "ema_transformer"))}
        progress, saved_optimizer = load_checkpoint(out, kept)
        log(f"resumed at stage {progress['stage']} step {progress['step']}")
        if widened:
            # The transformer stage starts again (a new learning-rate cycle, moving average and
            # moments); the VAE, its latent cache and the text encoder are kept as trained.
            saved_optimizer = {k: v for k, v in saved_optimizer.items() if not k.startswith("optimizer.")}
            if progress["stage"] != "vae":
                progress.update(stage="transformer", step=0, ema=False)
            progress.pop("cycle_start", None)
            progress["model_config"] = config.to_json()
            log(f"a new transformer {config.heads * config.head_dim} wide (was {saved['heads'] * saved['head_dim']})")
        if reopen_vae and progress["stage"] != "vae":
            vae_done = progress["clips_seen"]["vae"] // train_config.vae_batch
            progress.update(stage="vae", step=vae_done)
            saved_optimizer = {}  # the saved moments are the transformer's
            progress.pop("cycle_start", None)
            log(f"VAE stage reopened at step {vae_done}")
        if saved_layers != config.layers:
            modules["transformer"] = transformer = grow_transformer(transformer, config)
            if averaged:
                averaged["ema_transformer"] = grow_transformer(averaged["ema_transformer"], config).requires_grad_(False)
                modules["ema_transformer"] = averaged["ema_transformer"]
            if progress["stage"] != "vae":  # the saved transformer moments are for the old parameters
                saved_optimizer = {k: v for k, v in saved_optimizer.items() if not k.startswith("optimizer.")}
                # A new learning-rate cycle (warm-up, then cosine) from here, for the new blocks.
                progress["cycle_start"] = (progress["step"] if progress["stage"] in ("transformer", "done")
                                           else progress["clips_seen"]["transformer"] // train_config.dit_batch)
            progress["model_config"] = config.to_json()
            log(f"transformer grown from {saved_layers} to {config.layers} blocks")
    if start_from is not None and progress["step"] == 0 and progress["stage"] == "vae":
        progress.update(stage="transformer", started_from=load_exported(start_from, modules, config))
        log(f"started from {start_from}: transformer {progress['started_from']['transformer']}")
    progress.setdefault("sittings", []).append(
        {"vae_steps": train_config.vae_steps, "dit_steps": train_config.dit_steps,
         "decoder_steps": train_config.decoder_steps, "resumed": resume,
         "reopened_vae": reopen_vae, "latent_cache": train_config.latent_cache, "layers": config.layers,
         "dit_lr": train_config.dit_lr, "object_token_weight": train_config.object_token_weight,
         "heads": config.heads})
    for module in modules.values():
        module.to(device)
    started = time.monotonic() - progress["seconds"]

    def checkpoint(moments: dict):
        progress["seconds"] = time.monotonic() - started
        progress["ema"] = bool(averaged)
        save_checkpoint(out, modules, moments, progress)

    def export():
        tmp = out / "model.tmp"
        if tmp.exists():
            import shutil
            shutil.rmtree(tmp)
        for module in modules.values():
            module.to("cpu")
        save_pipeline(tmp, config, vae, averaged.get("ema_transformer", transformer),
                      averaged.get("ema_text_encoder", text_encoder), tokenizer)
        (tmp / "training.json").write_text(json.dumps(progress | {"seconds": time.monotonic() - started}, indent=1),
                                           encoding="utf-8")
        target = out / "model"
        if target.exists():
            import shutil
            shutil.rmtree(target)
        os.replace(tmp, target)
        for module in modules.values():
            module.to(device)

    # Stage 1: the VAE.
    if progress["stage"] == "vae":
        optimizer = torch.optim.AdamW(vae.parameters(), lr=train_config.vae_lr, weight_decay=0.0)
        restore_optimizer(optimizer, saved_optimizer, progress["step"])
        vae.train()
        for step in range(progress["step"], train_config.vae_steps):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, train_config.vae_steps, train_config.vae_lr, train_config.warmup)
            seeds = [clip_seed(train_config.seed, 1, step, i) for i in range(train_config.vae_batch)]
            _clips, frames = render_batch(seeds, config, config.num_frames)
            # A random window of `vae_frames` frames keeps steps cheap and shows every phase of motion.
            rng = np.random.default_rng(seeds[0])
            start = int(rng.integers(0, config.num_frames - train_config.vae_frames + 1))
            window = frames[:, start:start + train_config.vae_frames]
            pixels = to_pixels(window).to(device)
            weights = object_weights(window, train_config.object_weight).to(device)
            generator = torch.Generator().manual_seed(seeds[0])
            loss, reconstruction = vae_loss(vae, pixels, train_config.kl_weight, weights, generator,
                                            train_config.edge_weight)
            optimise(optimizer, loss, vae.parameters())
            progress["step"] = step + 1
            progress["clips_seen"]["vae"] += len(seeds)
            if step % 10 == 0:
                log(f"vae step {step} loss {loss.item():.4f} reconstruction {reconstruction.item():.4f}")
            if (step + 1) % checkpoint_every == 0:
                checkpoint(optimizer_tensors(optimizer))
        vae.eval()
        mean, std = latent_statistics(vae, config, train_config)
        vae.latents_mean.copy_(mean.to(vae.latents_mean.device))
        vae.latents_std.copy_(std.to(vae.latents_std.device))
        log(f"vae latent std {std.cpu().numpy().round(3).tolist()}")
        progress.update(stage="transformer", step=0)
        (out / LATENT_CACHE).unlink(missing_ok=True)  # encoded by an older VAE
        checkpoint({})
        export()
        saved_optimizer = {}

    # Stage 2: transformer and text encoder on the frozen VAE.
    vae.eval().requires_grad_(False)
    moments = dict(saved_optimizer)  # the Adam moments of stages 2 and 3, kept so either can be continued
    if progress["stage"] in ("transformer", "done"):
        shift = schedule_shift(config)
        params = list(transformer.parameters()) + list(text_encoder.parameters())
        optimizer = torch.optim.AdamW(params, lr=train_config.dit_lr, weight_decay=0.01)
        restore_optimizer(optimizer, saved_optimizer, progress["step"])
        transformer.train()
        text_encoder.train()
        trained = {name: list(modules[name].parameters()) for name in ("transformer", "text_encoder")}
        if averaged and (progress["step"] == 0 or not progress.get("ema")):  # a new stage, or averages not saved yet
            for name, params_of in trained.items():
                with torch.no_grad():
                    for average, p in zip(averaged[f"ema_{name}"].parameters(), params_of):
                        average.copy_(p)
        tokens_per_frame = (config.height // config.spatial_compression) * (config.width // config.spatial_compression)
        cache = None
        if train_config.latent_cache:
            cache = LatentCache.load(out, train_config.latent_cache)
            if cache is None:
                cache = LatentCache.build(vae, config, train_config, device, workers)
                cache.save(out)
            cache = cache.to(device)
        last_log = (progress["step"], time.monotonic())
        for step in range(progress["step"], train_config.dit_steps):
            for group in optimizer.param_groups:
                cycle = progress.get("cycle_start", 0)
                group["lr"] = lr_at(step - cycle, train_config.dit_steps - cycle, train_config.dit_lr,
                                    train_config.warmup)
            generator = torch.Generator().manual_seed(clip_seed(train_config.seed, 2, step, 0))
            if cache is not None:
                latents, masks, captions = cache.draw(step, train_config.dit_batch, generator)
                latents, masks = latents.to(device), masks.to(device)
            else:
                seeds = [clip_seed(train_config.seed, 2, step, i) for i in range(train_config.dit_batch)]
                num_frames = config.num_frames + (2 * config.temporal_compression if long_batch(step) else 0)
                latents, masks, captions = encode_clips(vae, seeds, config, num_frames, device, generator)
            context, text_mask, prompt_of_frame = text_batch(tokenizer, text_encoder, captions, config, train_config,
                                                               generator)
            bias = cross_attention_bias(text_mask.to(device), prompt_of_frame.to(device), tokens_per_frame,
                                        config.max_sequence_length)
            levels = noise_levels(len(captions), latents.shape[2], shift, generator)
            loss = flow_matching_loss(transformer, latents, context, bias, levels.to(device), config,
                                      generator, 1.0 + train_config.object_token_weight * masks)
            optimise(optimizer, loss, params)
            if averaged:
                decay = min(train_config.ema_decay, (1 + step) / (10 + step))
                with torch.no_grad():
                    for name, params_of in trained.items():
                        torch._foreach_lerp_(list(averaged[f"ema_{name}"].parameters()), params_of, 1.0 - decay)
            progress["step"] = step + 1
            progress["clips_seen"]["transformer"] += len(captions)
            if step % 10 == 0:
                now = time.monotonic()
                pace = f" ({(now - last_log[1]) / (step - last_log[0]):.3f} s/step)" if step > last_log[0] else ""
                log(f"transformer step {step} loss {loss.item():.4f}{pace}")
                last_log = (step, now)
            if (step + 1) % checkpoint_every == 0:
                checkpoint(moments | optimizer_tensors(optimizer))
            if (step + 1) % export_every == 0:
                export()
        moments |= optimizer_tensors(optimizer)
        progress.update(stage="decoder", step=progress["clips_seen"].get("decoder", 0) // train_config.vae_batch)
        if progress["step"] < train_config.decoder_steps:
            checkpoint(moments)
            export()

    # Stage 3: the decoder alone on whole clips (stage 1 saw `vae_frames` at a time), the encoder fixed.
    if progress["stage"] == "decoder" and progress["step"] < train_config.decoder_steps:
        vae.decoder.requires_grad_(True).train()
        optimizer = torch.optim.AdamW(vae.decoder.parameters(), lr=train_config.decoder_lr, weight_decay=0.0)
        restore_optimizer(optimizer, saved_optimizer, progress["step"], "decoder_optimizer")
        progress["clips_seen"].setdefault("decoder", 0)
        for step in range(progress["step"], train_config.decoder_steps):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, train_config.decoder_steps, train_config.decoder_lr, train_config.warmup)
            seeds = [clip_seed(train_config.seed, 5, step, i) for i in range(train_config.vae_batch)]
            loss = decoder_loss(vae, seeds, config, train_config, device)
            optimise(optimizer, loss, vae.decoder.parameters())
            progress["step"] = step + 1
            progress["clips_seen"]["decoder"] += len(seeds)
            if step % 10 == 0:
                log(f"decoder step {step} loss {loss.item():.4f}")
            if (step + 1) % checkpoint_every == 0:
                checkpoint(moments | optimizer_tensors(optimizer, "decoder_optimizer"))
            if (step + 1) % export_every == 0:
                export()
        vae.eval().requires_grad_(False)
        moments |= optimizer_tensors(optimizer, "decoder_optimizer")
    progress.update(stage="done", step=train_config.dit_steps)
    checkpoint(moments)
    export()
    log(f"done in {progress['seconds'] / 60:.1f} min; model in {out / 'model'}")
    return out / "model"


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m engine.toyworld.train", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for checkpoints and the exported model (out/model)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--from-model", metavar="DIR",
                        help="start a new run from an exported model folder (e.g. resources/models/toyworld): its VAE "
                             "and text encoder as they are, its transformer too if it has this run's shape")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--vae-steps", type=int, default=defaults.vae_steps)
    parser.add_argument("--steps", type=int, default=defaults.dit_steps, help="transformer steps")
    parser.add_argument("--decoder-steps", type=int, default=defaults.decoder_steps,
                        help="then train the VAE decoder alone on whole clips (the latents stay as they are)")
    parser.add_argument("--batch", type=int, default=defaults.dit_batch, help="transformer batch")
    parser.add_argument("--lr", type=float, default=defaults.dit_lr, help="transformer peak learning rate")
    parser.add_argument("--object-token-weight", type=float, default=defaults.object_token_weight,
                        help="how much more a latent token with an object in it weighs in the transformer's loss")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes that render the latent cache's clips while the main one encodes them")
    parser.add_argument("--warmup", type=int, default=None,
                        help=f"learning-rate warm-up steps (default: {defaults.warmup}, at most a tenth of --steps)")
    parser.add_argument("--latent-cache", type=int, default=defaults.latent_cache,
                        help="encode this many clips once and draw transformer batches from them (0: new clips every step)")
    parser.add_argument("--reopen-vae", action="store_true",
                        help="with --resume: train the VAE further (to --vae-steps), then the transformer again")
    parser.add_argument("--layers", type=int, default=None,
                        help="transformer blocks (default: the checkpoint's with --resume, else "
                             f"{ModelConfig().layers}); more than the checkpoint has grows it (see grow_transformer)")
    parser.add_argument("--heads", type=int, default=None,
                        help="transformer attention heads of 32 channels (default: the checkpoint's with --resume, "
                             f"else {ModelConfig().heads}); another number than the checkpoint's trains a new "
                             "transformer, keeping the VAE, the latent cache and the text encoder")
    parser.add_argument("--micro", action="store_true", help="a tiny model, to check the script end to end")
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--export-every", type=int, default=100)
    args = parser.parse_args(argv)
    config = MICRO if args.micro else ModelConfig()
    saved = checkpoint_model(Path(args.out)) if args.resume else None
    heads = args.heads if args.heads is not None else saved["heads"] if saved is not None else config.heads
    widened = saved is not None and heads != saved["heads"]
    saved_layers = saved["layers"] if saved is not None else None
    layers = args.layers if args.layers is not None else saved_layers
    if saved_layers is not None and not widened and layers < saved_layers:
        print(f"error: --layers {layers}: the checkpoint in {args.out} has {saved_layers} transformer blocks and a "
              f"transformer can only grow; leave --layers out or give at least {saved_layers}", file=sys.stderr)
        return 2
    if layers is not None:
        config = replace(config, layers=layers)
    config = replace(config, heads=heads)
    train_config = TrainConfig(seed=args.seed, vae_steps=args.vae_steps, dit_steps=args.steps, dit_batch=args.batch,
                               dit_lr=args.lr, object_token_weight=args.object_token_weight,
                               vae_frames=min(defaults.vae_frames, config.num_frames),
                               decoder_steps=args.decoder_steps,
                               decoder_frames=min(defaults.decoder_frames, config.num_frames),
                               stats_clips=8 if args.micro else defaults.stats_clips,
                               warmup=args.warmup or min(defaults.warmup, max(1, args.steps // 10)),
                               latent_cache=args.latent_cache)
    start_from = Path(args.from_model) if args.from_model else None
    if start_from is not None and (args.resume or not (start_from / "model_index.json").is_file()):
        print(f"error: --from-model {args.from_model}: " + ("a resumed run goes on from its own checkpoint; leave out "
              "--resume" if args.resume else "no model_index.json there; give an exported model folder such as "
              "resources/models/toyworld"), file=sys.stderr)
        return 2
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("error: --device cuda was asked for but no CUDA GPU is available; use --device cpu", file=sys.stderr)
            return 2
    train(Path(args.out), config, train_config, resume=args.resume, device=args.device,
          checkpoint_every=args.checkpoint_every, export_every=args.export_every, threads=args.threads,
          reopen_vae=args.reopen_vae, start_from=start_from, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
