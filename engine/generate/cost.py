"""How long a generation will take, before it runs: `estimate(...)` and `describe(estimate)`.

The cost is counted from the denoiser's shape, read from the model folder's
`transformer/config.json` and `vae/config.json` (no model load, no torch at import):

- tokens = latent frames x latent height x latent width, over the transformer's patch;
- per layer and token: the attention and feed-forward projections (grow with tokens), the
  self-attention scores and values (grow with tokens², which is what makes long, large videos
  slow) and the cross-attention to the text;
- x layers x steps, x 2 with classifier-free guidance (the batch holds the unconditional half
  too, counted at every step: an upper bound when a guidance interval skips some), x variations.

Seconds are FLOPs over a FLOP/s rate measured on this machine, plus the fixed cost of each
of the many small operations each layer runs (a tiny model's time is nearly all that). Both
come from `calibrate(device)`: a ~0.2 s benchmark on the device (a large matmul for the rate,
a tiny transformer layer for the cost beyond arithmetic), cached in the user data folder
keyed by the device and the torch version, so it runs once per machine. The text encoder and
the VAE's decode count only as a fixed overhead, not by their arithmetic: a small share of a
large model's time, more for long high-resolution clips, so a large job errs a little short.
The keyframe fit's decodes with their gradient are counted (`estimate_request`,
engine.generate.cost_fit): the VAE's arithmetic over the rate the calibration measures for a
decoder's convolution blocks.

    from engine.generate.cost import describe, estimate
    guess = estimate(plan.summary(), "path/to/model", steps=30, variations=1, guidance=3.0)
    describe(guess)  # "about 7 minutes on this CPU: a long job"
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import ModelError

LONG_SECONDS = 180.0  # more than a few minutes: worth saying before the user starts it
CACHE_FILE = "cost-calibration.json"
# The cost beyond arithmetic, in calls of the calibration's tiny layer, measured on tiny
# random-weight LTX-Video models (1 and 8 layers) run through Kinora's backend on CPU: a
# diffusers layer costs about five (its attention processor, rotary embedding and checks are
# Python), the rest of a step about half of one, and once per generation the text encoding,
# decoding and writing about sixty. Only small models notice: a large one's arithmetic is
# thousands of times more.
LAYER_UNITS = 5.0
STEP_UNITS = 0.5
GENERATION_UNITS = 60.0
TEXT_TOKENS = {"ltx": 128, "wan": 512}  # the text length each family's backend encodes to


@dataclass(frozen=True, slots=True)
class DenoiserShape:
    """What the cost of a denoiser step depends on, read from a model folder's config files."""

    num_layers: int
    inner_dim: int  # attention heads x head dim
    ffn_dim: int
    cross_attention_dim: int  # the text embedding width the cross-attention reads
    in_channels: int
    patch: tuple[int, int, int]  # (time, height, width) latent cells per token
    temporal_compression: int  # pixel frames per latent frame
    spatial_compression: int  # pixels per latent cell
    text_tokens: int


@dataclass(frozen=True, slots=True)
class Calibration:
    """This machine's speed on one device: matmul FLOP/s, and the seconds a transformer layer
    takes beyond its arithmetic (measured on a layer too small to have any)."""

    device: str  # "cpu" or "cuda"
    flops_per_s: float
    layer_seconds: float
    conv_flops_per_s: float = 0.0  # a VAE's 3D convolution blocks (the keyframe fit's decodes); 0: not counted


@dataclass(frozen=True, slots=True)
class Estimate:
    """`seconds` on `device`, the `flops` counted, and a `note` saying how (for a tooltip or a log)."""

    seconds: float
    flops: float
    note: str
    device: str = "cpu"
    windows: int = 1  # a plan longer than the model makes at once runs as a chain of windows

    @property
    def long(self) -> bool:
        """More than a few minutes: the user should know before starting it."""
        return self.seconds > LONG_SECONDS


def estimate(sizes, model, steps: int, variations: int = 1, guidance: float = 1.0, *,
             device: str | None = None, calibration: Calibration | None = None) -> Estimate:
    """How long generating `sizes` with `model` takes on this machine.

    `sizes` is a plan summary (GenerationPlan.summary(): width, height, num_frames and
    num_latent_frames) or (num_frames, height, width) in pixels; `model` is a model folder (a
    path or a ModelInfo) or a DenoiserShape. Guidance above 1 doubles the work. `device` is
    "cpu", "cuda" or None for the one generation would pick; `calibration` skips the
    measurement (the cached one is used otherwise, measured once if missing).
    """
    shape = model if isinstance(model, DenoiserShape) else denoiser_shape(model)
    tokens = num_tokens(sizes, shape)
    batch = max(1, variations) * (2 if guidance > 1.0 else 1)
    flops = steps * batch * step_flops(tokens, shape)
    rate = calibration or calibrate(device)
    overhead_units = steps * (shape.num_layers * LAYER_UNITS + STEP_UNITS) + GENERATION_UNITS
    seconds = flops / rate.flops_per_s + overhead_units * rate.layer_seconds
    note = (f"{tokens} tokens x {shape.num_layers} layers x {steps} steps x batch {batch}: "
            f"{flops / 1e12:.3g} TFLOP at {rate.flops_per_s / 1e9:.3g} GFLOP/s on {rate.device}")
    return Estimate(seconds=seconds, flops=flops, note=note, device=rate.device)


def describe(guess: Estimate) -> str:
    """`about 7 minutes on this CPU: a long job` — for a status line or a tooltip."""
    where = "this GPU" if guess.device.startswith("cuda") else "this CPU"
    seconds = guess.seconds
    if seconds < 1:
        amount = "under a second"
    elif seconds < 90:
        amount = f"about {max(1, round(seconds))} second{'s' if round(seconds) != 1 else ''}"
    elif seconds < 90 * 60:
        amount = f"about {round(seconds / 60)} minutes"
    else:
        hours = seconds / 3600
        amount = f"about {hours:.1f} hours" if hours < 10 else f"about {round(hours)} hours"
    chain = f"{guess.windows} windows, " if guess.windows > 1 else ""
    return f"{chain}{amount} on {where}" + (": a long job" if guess.long else "")


# -- counting ---------------------------------------------------------------------------------


def num_tokens(sizes, shape: DenoiserShape) -> int:
    """Video tokens the transformer sees for `sizes` (a plan summary or (frames, height, width))."""
    if isinstance(sizes, dict):
        frames, height, width = sizes["num_frames"], sizes["height"], sizes["width"]
        latent_frames = sizes.get("num_latent_frames")
    else:
        frames, height, width = sizes
        latent_frames = None
    if latent_frames is None:
        latent_frames = (max(1, int(frames)) - 1) // shape.temporal_compression + 1
    patch_t, patch_h, patch_w = shape.patch
    cells_h = int(height) // shape.spatial_compression // patch_h
    cells_w = int(width) // shape.spatial_compression // patch_w
    return max(1, -(-int(latent_frames) // patch_t)) * max(1, cells_h) * max(1, cells_w)


def step_flops(tokens: int, shape: DenoiserShape) -> float:
    """FLOPs of one denoiser call for one video (a multiply-add counts 2)."""
    d, text = shape.inner_dim, shape.text_tokens
    per_layer = (
        8 * tokens * d * d  # self-attention q, k, v, out projections
        + 4 * tokens * tokens * d  # self-attention scores and weighted values: grows with tokens²
        + 4 * tokens * d * d + 4 * text * shape.cross_attention_dim * d  # cross-attention projections
        + 4 * tokens * text * d  # cross-attention scores and values
        + 4 * tokens * d * shape.ffn_dim  # feed-forward
    )
    cell = shape.in_channels * shape.patch[0] * shape.patch[1] * shape.patch[2]
    return float(shape.num_layers * per_layer + 4 * tokens * cell * d)  # + patch embedding in and out


def denoiser_shape(model) -> DenoiserShape:
    """The DenoiserShape of a model folder (a path or ModelInfo), from its config files alone."""
    folder = Path(getattr(model, "path", model))
    transformer = _read_config(folder / "transformer" / "config.json")
    try:
        heads, head_dim = int(transformer["num_attention_heads"]), int(transformer["attention_head_dim"])
        num_layers = int(transformer["num_layers"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{folder / 'transformer' / 'config.json'} has no num_layers, num_attention_heads and "
                         "attention_head_dim; it is not a video transformer Kinora can estimate") from None
    inner = heads * head_dim
    patch = transformer.get("patch_size", 1)
    if isinstance(patch, list | tuple):  # Wan: (time, height, width)
        patch_t, patch_h, patch_w = (int(p) for p in patch)
    else:  # LTX: one spatial patch and a temporal one
        patch_t, patch_h, patch_w = int(transformer.get("patch_size_t", 1)), int(patch), int(patch)
    family = "ltx" if str(transformer.get("_class_name", "")).startswith("LTX") else "wan"
    from engine.generate.models import ModelInfo, frame_layout

    # An unknown VAE: LTX-Video's layout, the most compressed, so the guess errs short.
    temporal, spatial = frame_layout(ModelInfo(folder.name, folder, None, "")) or (8, 32)
    return DenoiserShape(
        num_layers=num_layers, inner_dim=inner, ffn_dim=int(transformer.get("ffn_dim") or 4 * inner),
        cross_attention_dim=int(transformer.get("cross_attention_dim") or transformer.get("text_dim") or inner),
        in_channels=int(transformer.get("in_channels", 16)), patch=(patch_t, patch_h, patch_w),
        temporal_compression=temporal, spatial_compression=spatial, text_tokens=TEXT_TOKENS[family])


def _read_config(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path} is missing: the model folder is incomplete; download it again") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{path} cannot be read ({error}); download the model again") from None
    if not isinstance(value, dict):
        raise ModelError(f"{path} is not a config file (a JSON object); download the model again")
    return value


# -- calibration ------------------------------------------------------------------------------


def calibration_path() -> Path:
    from engine.paths import data_dir

    return Path(data_dir()) / CACHE_FILE


def calibrate(device: str | None = None) -> Calibration:
    """This machine's speed on `device` (None: the one generation would pick), measured once
    (~0.2 s) and then read from the cache in the user data folder."""
    import torch

    from engine.generate.models import pick_device

    chosen, dtype = pick_device(device)
    name = torch.cuda.get_device_name(chosen) if chosen.type == "cuda" else "cpu"
    key = f"{chosen.type}:{name}|{str(dtype).removeprefix('torch.')}|torch {torch.__version__}"
    path = calibration_path()
    cached = _read_cache(path).get(key)
    if cached and "conv_flops_per_s" in cached:  # (one written before the convolutions were measured: again)
        return Calibration(device=chosen.type, flops_per_s=float(cached["flops_per_s"]),
                           layer_seconds=float(cached["layer_seconds"]),
                           conv_flops_per_s=float(cached["conv_flops_per_s"]))
    measured = Calibration(device=chosen.type, flops_per_s=_matmul_rate(torch, chosen, dtype),
                           layer_seconds=_layer_seconds(torch, chosen, dtype),
                           conv_flops_per_s=_conv_rate(torch, chosen, dtype))
    entries = _read_cache(path)
    entries[key] = {**asdict(measured), "measured": time.time()}
    from engine.fsutil import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(entries, indent=2).encode())
    return measured


def _read_cache(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or damaged: measure again
        return {}
    return value if isinstance(value, dict) else {}


def _synchronize(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _matmul_rate(torch, device, dtype) -> float:
    """FLOP/s of a square matmul as large as a big model's, in a typical round after a warm-up."""
    size = 4096 if device.type == "cuda" else 512
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    return 2 * size**3 / _typical_seconds(torch, device, lambda: a @ b, rounds=5, repeats=1)


def _layer_seconds(torch, device, dtype) -> float:
    """Seconds of one call of a tiny transformer layer built like a video model's (norms,
    modulation, self- and cross-attention, feed-forward, as nn.Modules): at this size the cost
    is its operations themselves (Python, dispatch, kernel launches, thread hand-offs), which is
    what every real layer pays on top of its arithmetic."""
    from torch import nn
    from torch.nn import functional as F

    dim, heads, tokens, text = 32, 4, 192, 16

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.modulation = nn.Parameter(torch.zeros(6, dim))
            self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
            self.cross_q, self.cross_k, self.cross_v, self.cross_out = (nn.Linear(dim, dim) for _ in range(4))
            self.norm_q, self.norm_k = nn.RMSNorm(dim), nn.RMSNorm(dim)
            self.ff_in, self.ff_out = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def attend(self, q, k, v):
            split = [t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in (q, k, v)]
            return F.scaled_dot_product_attention(*split).transpose(1, 2).flatten(2)

        def forward(self, x, context, rope, temb):
            shift, scale, gate, shift2, scale2, gate2 = (temb + self.modulation).unbind(1)
            h = F.layer_norm(x, (dim,)) * (1 + scale[:, None]) + shift[:, None]
            q, k = self.norm_q(self.q(h)) * rope[0] + rope[1], self.norm_k(self.k(h)) * rope[0] + rope[1]
            x = x + self.out(self.attend(q, k, self.v(h))) * gate[:, None]
            x = x + self.cross_out(self.attend(self.cross_q(x), self.cross_k(context), self.cross_v(context)))
            h = F.layer_norm(x, (dim,)) * (1 + scale2[:, None]) + shift2[:, None]
            return x + self.ff_out(F.gelu(self.ff_in(h), approximate="tanh")) * gate2[:, None]

    layer = Layer().to(device=device, dtype=dtype)
    x = torch.randn(1, tokens, dim, device=device, dtype=dtype)
    context = torch.randn(1, text, dim, device=device, dtype=dtype)
    rope = torch.randn(2, 1, tokens, dim, device=device, dtype=dtype)
    temb = torch.randn(1, 6, dim, device=device, dtype=dtype)
    with torch.no_grad():
        for _ in range(3):  # the first calls set up kernels and thread pools
            layer(x, context, rope, temb)
        return _typical_seconds(torch, device, lambda: layer(x, context, rope, temb), rounds=9, repeats=4)


def _conv_rate(torch, device, dtype) -> float:
    """FLOP/s of a VAE decoder's residual block (group norm, SiLU and a 3x3x3 convolution, twice),
    counting the convolutions' arithmetic: what a decoder's FLOPs run at, its norms included
    (on this machine's CPU within a fifth of the bundled VAE's own decode)."""
    from torch import nn
    from torch.nn import functional as F

    channels, frames, height, width = (256, 5, 64, 96) if device.type == "cuda" else (32, 5, 32, 32)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norms = nn.ModuleList(nn.GroupNorm(8, channels) for _ in range(2))
            self.convs = nn.ModuleList(nn.Conv3d(channels, channels, 3, padding=1) for _ in range(2))

        def forward(self, x):
            h = x
            for norm, conv in zip(self.norms, self.convs, strict=True):
                h = conv(F.silu(norm(h)))
            return x + h

    block = Block().to(device=device, dtype=dtype)
    x = torch.randn(1, channels, frames, height, width, device=device, dtype=dtype)
    with torch.no_grad():
        block(x)
        seconds = _typical_seconds(torch, device, lambda: block(x), rounds=5, repeats=1)
    return 2 * 2 * channels * channels * 27 * frames * height * width / seconds


def _typical_seconds(torch, device, work, *, rounds: int, repeats: int) -> float:
    """Seconds of one `work()`: the median round of `repeats` calls (a burst of other programs'
    work moves it less than a mean; the machine's usual load moves it as it moves generation)."""
    seconds = []
    for _ in range(rounds):
        _synchronize(torch, device)
        start = time.perf_counter()
        for _ in range(repeats):
            work()
        _synchronize(torch, device)
        seconds.append((time.perf_counter() - start) / repeats)
    return sorted(seconds)[rounds // 2]


def estimate_request(request, *, calibration: Calibration | None = None) -> Estimate | None:
    """The estimate of a typed request before its model is loaded: its plan compiled with what
    the model folder's configs say (frame layout, native size, default steps and guidance).
    None when the model's shape cannot be read (the job then says what is wrong when it runs)."""
    from engine.generate.models import resolve
    from engine.generate.planning import planning_caps
    from engine.generate.windows import window_layout

    info = resolve(request.sampling.model)
    try:
        shape = denoiser_shape(info)
    except ModelError:
        return None
    defaults = info.defaults or {}
    caps = planning_caps(info)
    plan = request.recipe(caps).plan
    steps = request.sampling.steps or int(defaults.get("steps") or 50)
    guidance = request.sampling.guidance if request.sampling.guidance is not None else float(
        defaults.get("guidance") or 3.0)
    summary = plan.summary()
    windows = window_layout(plan.num_frames, caps)
    rate = calibration or calibrate(request.sampling.device)
    parts = [estimate({**summary, "num_frames": w.num_frames, "num_latent_frames": w.num_latent_frames}, shape, steps,
                      request.sampling.variations, guidance, calibration=rate)
             for w in windows]
    seconds, flops = sum(p.seconds for p in parts), sum(p.flops for p in parts)
    note = parts[0].note if len(parts) == 1 else (
        f"{len(parts)} windows: " + "; ".join(p.note for p in parts[:2]) + ("; ..." if len(parts) > 2 else ""))
    fit = _fit_part(plan, info, rate, request.sampling.variations, max(w.num_latent_frames for w in windows))
    if fit is not None:
        seconds, flops, note = seconds + fit[0], flops + fit[1], f"{note}\n{fit[2]}"  # a line of its own
    return Estimate(seconds=seconds, flops=flops, note=note, device=rate.device, windows=len(parts))


def _fit_part(plan, info, rate: Calibration, variations: int, window_latent_frames: int):
    """(seconds, FLOPs, note) of the keyframe fit of `plan` (engine.generate.cost_fit); None when
    there is nothing to fit or it cannot be counted."""
    from engine.generate.cost_fit import fit_flops

    counted = fit_flops(plan, info, rate.device, variations, window_latent_frames)
    if counted is None or not counted[1] or rate.conv_flops_per_s <= 0:
        return None
    flops, frames = counted
    seconds = flops / rate.conv_flops_per_s
    return seconds, flops, (f"holding keyframes as their pictures: {frames} latent frame{'s' if frames > 1 else ''} "
                            f"refitted, {flops / 1e12:.3g} TFLOP of decoding at {rate.conv_flops_per_s / 1e9:.3g} "
                            f"GFLOP/s, at most {seconds:.0f} s")
