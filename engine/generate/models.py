"""Finding and loading video models, offline.

Models are diffusers-format folders (a model_index.json and one folder per component). They
are looked for in the bundled resources, in `KINORA_MODELS` (os.pathsep-separated folders), in
the user models folder and in the Hugging Face cache, never on the network. Weights load from
safetensors only and no repository code is ever run.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ModelError
from engine.generate.backends import FAMILY_TABLE

# model_index.json `_class_name` -> the backend family that runs it, read from the one family table
FAMILIES = {pipeline: family.name for family in FAMILY_TABLE for pipeline in family.pipelines}
SUPPORTED_FAMILIES = tuple(family.name for family in FAMILY_TABLE)
RESOURCES = Path(__file__).resolve().parents[2] / "resources"
BUNDLED_MODEL = RESOURCES / "models" / "toyworld"
# model_index.json library -> the module its classes come from. Classes diffusers defines inside a
# pipeline package are saved under that package's name (the LTX latent upsampler as "ltx").
_LIBRARIES = {"diffusers": "diffusers", "transformers": "transformers", "ltx": "diffusers.pipelines.ltx",
              "ltx2": "diffusers.pipelines.ltx2"}
_UNSAFE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    path: Path
    family: str | None
    pipeline_class: str
    problem: str | None = None  # why it cannot be used; None when it can
    defaults: dict = field(default_factory=dict)  # model_index.json "_kinora_defaults": native size, frames, steps

    @property
    def usable(self) -> bool:
        return self.problem is None


def user_models_dir() -> Path:
    from engine.paths import data_dir

    return Path(data_dir("models"))


def search_dirs() -> list[Path]:
    """Folders holding model folders, in the order a name is looked up: the bundled model,
    KINORA_MODELS, the folders chosen in the settings, the user's models folder."""
    from engine.user_settings import load_settings

    dirs = [RESOURCES / "models"]
    dirs += [Path(p).expanduser() for p in os.environ.get("KINORA_MODELS", "").split(os.pathsep) if p]
    dirs += [Path(p).expanduser() for p in load_settings().model_folders]
    dirs.append(user_models_dir())
    return dirs


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home).expanduser() / "hub"


def discover() -> list[ModelInfo]:
    """Every diffusers-format model found locally, usable or not (the problem says why). A folder
    that cannot be read (damaged index, a link to nowhere, no permission) is listed with its
    problem; it never hides the others."""
    found: list[ModelInfo] = []
    seen: set[str] = set()
    for folder in search_dirs():
        for path, problem in _model_folders(folder):
            key = os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            found.append(ModelInfo(path.name, path, None, "", problem) if problem else inspect_model(path))
    for repo, snapshot, problem in _hf_snapshots(hf_cache_dir()):
        name = repo.name[len("models--"):].replace("--", "/")
        found.append(ModelInfo(name, snapshot, None, "", problem) if problem else inspect_model(snapshot, name=name))
    return found


def _model_folders(folder: Path) -> list[tuple[Path, str | None]]:
    """(model folder, None) for each folder of `folder` holding a model_index.json (or `folder`
    itself when it holds one), and (entry, why) for an entry that cannot be looked into."""
    if _is_file(folder / "model_index.json"):
        return [(folder, None)]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return []  # a search folder that does not exist (yet) holds no models
    except OSError as error:
        return [(folder, f"{folder}: the models folder cannot be read ({error.strerror or error}); "
                         "check its permissions or remove it from the model folders")]
    result: list[tuple[Path, str | None]] = []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and not path.exists():
            result.append((path, f"{path}: is a link to {os.readlink(path)}, which does not exist; "
                                 "reconnect the drive it points to or remove the link"))
            continue
        if not _is_dir(path):
            continue
        try:
            if (path / "model_index.json").is_file():
                result.append((path, None))
            else:
                os.listdir(path)  # a folder that cannot be listed may be a model: say so
        except OSError as error:
            result.append((path, f"{path}: cannot be read ({error.strerror or error}); check its permissions"))
    return result


def _hf_snapshots(cache: Path) -> list[tuple[Path, Path, str | None]]:
    """(repository folder, newest snapshot, problem) for each model in the Hugging Face cache."""
    result = []
    try:
        repos = sorted(cache.glob("models--*"))
    except OSError:
        return []
    for repo in repos:
        try:
            snapshots = sorted((repo / "snapshots").glob("*/model_index.json"), key=lambda p: p.stat().st_mtime)
        except OSError as error:
            result.append((repo, repo, f"{repo}: cannot be read ({error.strerror or error}); download it again"))
            continue
        if snapshots:
            result.append((repo, snapshots[-1].parent, None))
    return result


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def inspect_model(path: Path, name: str | None = None) -> ModelInfo:
    """Read a model folder's model_index.json and check that its components are complete and safe.
    Whatever is wrong with the folder becomes the model's problem; reading never raises."""
    path = Path(path)
    name = name or path.name
    try:
        return _inspect(path, name)
    except Exception as error:  # noqa: BLE001 - one damaged folder must not hide the other models
        return ModelInfo(name, path, None, "", f"{path}: cannot be read as a model ({type(error).__name__}: "
                                               f"{error}); download it again or remove the folder")


def _inspect(path: Path, name: str) -> ModelInfo:
    index_file = path / "model_index.json"
    if not index_file.is_file():
        return ModelInfo(name, path, None, "", f"{path} has no model_index.json (not a diffusers-format model)")
    try:
        index = _read_json_object(index_file)
    except ValueError as error:
        return ModelInfo(name, path, None, "", str(error))
    pipeline_class = str(index.get("_class_name", ""))
    family = FAMILIES.get(pipeline_class)
    if family is None:
        labels = [f.label for f in FAMILY_TABLE]
        return ModelInfo(name, path, None, pipeline_class, f"{path} is a {pipeline_class or 'unknown'} model; Kinora "
                         f"runs {', '.join(labels[:-1])} and {labels[-1]}")
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or spec[:1] == [None]:
            continue
        problem = _spec_problem(index_file, component, spec) or _component_problem(path, component, spec)
        if problem:
            return ModelInfo(name, path, family, pipeline_class, problem)
    defaults = index.get("_kinora_defaults")
    return ModelInfo(name, path, family, pipeline_class, defaults=defaults if isinstance(defaults, dict) else {})


def _read_json_object(file: Path) -> dict:
    """A JSON object from a model's file; ValueError saying what is wrong with it."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: nested too deep to parse
        raise ValueError(f"{file} cannot be read: {str(error) or type(error).__name__}; download the model again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file} holds a JSON {type(data).__name__}, not the object it should be; download the "
                         "model again")
    return data


def _spec_problem(index_file: Path, component: str, spec: list) -> str | None:
    """What is wrong with a model_index.json entry that should be "folder": [library, class]."""
    if len(spec) != 2 or not all(isinstance(part, str) for part in spec):
        return (f"{index_file}: component {component!r} is {json.dumps(spec)[:80]}, not [library, class name]; "
                "download the model again")
    if component in (".", "..") or any(c in component for c in "/\\\0"):
        return f"{index_file}: {component!r} is not a folder name inside the model"
    return None


def frame_layout(info: ModelInfo) -> tuple[int, int] | None:
    """(pixel frames per latent frame, pixels per latent cell) read from the VAE's config.json,
    without loading anything: what a front end needs to draw a plan before the model is loaded
    (the loaded backend's caps stay the authority). None when the VAE is not one Kinora knows."""
    try:
        config = _read_json_object(info.path / "vae" / "config.json")
        kind = config.get("_class_name")
        if kind in ("AutoencoderKLLTXVideo", "AutoencoderKLLTX2Video"):  # diffusers' own formulas for these classes
            default_scaling = (True, True, True, False) if kind == "AutoencoderKLLTXVideo" else (True,) * 4
            scale = 2 ** sum(bool(x) for x in config.get("spatio_temporal_scaling", default_scaling))
            temporal = config.get("temporal_compression_ratio") or config.get("patch_size_t", 1) * scale
            spatial = config.get("spatial_compression_ratio") or config.get("patch_size", 4) * scale
        elif kind == "AutoencoderKLWan":
            temporal, spatial = config.get("scale_factor_temporal") or 4, config.get("scale_factor_spatial") or 8
        else:
            return None
        layout = int(temporal), int(spatial)
    except (ValueError, TypeError, OverflowError):  # an unreadable or malformed config: not a VAE Kinora knows
        return None
    return layout if all(0 < n <= 1024 for n in layout) else None


def audio_layout(info: ModelInfo) -> float | None:
    """Audio latent frames per second of a model that makes sound (an LTX-2 audio VAE's config:
    its sample rate over its mel hop and the VAE's 4x time compression), read without loading
    anything; None for a silent model or a config Kinora cannot read."""
    try:
        config = _read_json_object(info.path / "audio_vae" / "config.json")
        if config.get("_class_name") != "AutoencoderKLLTX2Audio":
            return None
        rate = float(config.get("sample_rate", 16000)) / float(config.get("mel_hop_length", 160)) / 4.0
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None
    return rate if 0 < rate <= 10_000 else None


def _component_problem(path: Path, component: str, spec: list) -> str | None:
    library, class_name = spec[0], spec[1]
    folder = path / component
    if library not in _LIBRARIES:
        return f"{folder} needs code from {library!r}; Kinora only loads diffusers and transformers classes"
    if not folder.is_dir():
        return f"{folder} is missing: the model is partly downloaded; download it again"
    config = folder / "config.json"
    if config.is_file():
        try:
            if "auto_map" in _read_json_object(config):
                return (f"{folder} asks for code shipped with the model (auto_map); Kinora never runs remote code: "
                        "use a model made of standard diffusers/transformers classes")
        except ValueError as error:
            return str(error)
    if not _has_weights(class_name):
        return None
    if any(p.name.endswith(".safetensors") for p in folder.iterdir()):
        return None
    return _pickle_weights_problem(folder) or f"{folder} has no weights: the model is partly downloaded; download it again"


def _pickle_weights_problem(folder: Path) -> str | None:
    """What to do about a component whose only weights are PyTorch pickles (.bin/.pt); None otherwise.
    Kinora never unpickles: loading a pickle can run any code the file holds."""
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    pickles = [f for f in files if f.endswith(_UNSAFE_WEIGHTS)]
    if not pickles or any(f.endswith(".safetensors") for f in files):
        return None
    return (f"{folder / pickles[0]} is a PyTorch pickle, not safetensors; Kinora loads weights from .safetensors "
            "only (loading a pickle can run code). Download the model's safetensors variant, or convert it once on a "
            "machine you trust: load it with diffusers and save it with save_pretrained(folder, safe_serialization=True)")


def _has_weights(class_name: str) -> bool:
    return not any(word in class_name for word in ("Tokenizer", "Scheduler", "Processor", "FeatureExtractor"))


def resolve(name_or_path: str | None = None) -> ModelInfo:
    """The model a user named (a folder path or a discovered name), or the default model."""
    if name_or_path:
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            info = inspect_model(path)
        else:
            matches = [m for m in discover() if m.name == name_or_path or m.name.split("/")[-1] == name_or_path]
            if not matches:
                raise ModelError(f"no model named {name_or_path!r}: put diffusers-format models in "
                                 f"{user_models_dir()} or a folder listed in KINORA_MODELS, or pass a model folder "
                                 "path; `kinora models` lists what is found")
            info = matches[0]
    else:
        if (BUNDLED_MODEL / "model_index.json").is_file():
            info = inspect_model(BUNDLED_MODEL)
        else:
            usable = [m for m in discover() if m.usable]
            if not usable:
                raise ModelError(f"no video model is installed: put a diffusers-format LTX-Video model in "
                                 f"{user_models_dir()} (or a folder listed in KINORA_MODELS) and try again")
            info = usable[0]
    if info.problem:
        raise ModelError(info.problem)
    return info


def pick_device(requested: str | None = None):
    """(device, dtype): CUDA in bfloat16 when available (or asked for), else CPU in float32."""
    import torch

    if requested not in (None, "", "auto", "cpu", "cuda") and not str(requested).startswith("cuda:"):
        raise ModelError(f"unknown device {requested!r}; use cpu or cuda")
    if requested and str(requested).startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {requested!r} was asked for but no CUDA GPU is available; use --device cpu")
    if requested in (None, "", "auto"):
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    return device, (torch.bfloat16 if device.type == "cuda" else torch.float32)


@dataclass(frozen=True, slots=True)
class MemoryOptions:
    """How to fit a model in memory.

    `cpu_offload` keeps each component on the CPU until it runs (model offload);
    `group_offload` streams the denoiser to the device a block at a time while it runs
    (diffusers' group offloading), for models whose denoiser alone does not fit, and offloads
    the other components like `cpu_offload`; `vae_tiling` decodes in tiles; `fp8_storage` keeps
    the denoiser's weights in float8 (e4m3) and casts each layer's up to the compute dtype as it
    runs (diffusers' layerwise casting): half the memory of bfloat16 weights, for families that
    declare it (LTX-2), at a small cost in precision.
    """

    cpu_offload: bool = False
    vae_tiling: bool = False
    group_offload: bool = False
    fp8_storage: bool = False

    @property
    def offloads(self) -> bool:
        """Whether components other than the denoiser wait on the CPU between uses."""
        return self.cpu_offload or self.group_offload


def memory_override(settings) -> MemoryOptions | None:
    """The MemoryOptions the user's settings (engine.user_settings.UserSettings) force, or None to
    let choose_memory_options decide from free memory."""
    if settings.memory == "auto" and settings.vae_tiling is None and settings.fp8_storage is None:
        return None
    return MemoryOptions(cpu_offload=settings.memory == "model-offload", group_offload=settings.memory == "group-offload",
                         vae_tiling=bool(settings.vae_tiling), fp8_storage=bool(settings.fp8_storage))


def choose_memory_options(weights_bytes: int, device, pixels_per_video: int,
                          override: MemoryOptions | None = None, fp8_bytes: int = 0) -> MemoryOptions:
    """What memory_options_for says for the free memory of `device` (a CUDA GPU; nothing is needed
    elsewhere). An explicit `override` always wins."""
    if override is not None:
        return override
    if getattr(device, "type", str(device)) != "cuda":
        return MemoryOptions()
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return memory_options_for(weights_bytes, free, pixels_per_video, fp8_bytes)


def memory_options_for(weights_bytes: int, free_bytes: int, pixels_per_video: int, fp8_bytes: int = 0) -> MemoryOptions:
    """Offload when the weights would not fit in `free_bytes` with room to work; tile the VAE for
    large videos. `fp8_bytes`: the denoiser weights float8 storage would halve (0 where the family
    has none): when halving them makes the weights fit, they are stored in float8 instead of
    offloading (no weights cross the bus each step); when even that does not fit, the model is
    offloaded, and its denoiser stored in float8 too where the denoiser alone would not fit."""
    fits = weights_bytes * 1.3 <= free_bytes
    fits_in_fp8 = fp8_bytes > 0 and (weights_bytes - fp8_bytes // 2) * 1.3 <= free_bytes
    return MemoryOptions(cpu_offload=not fits and not fits_in_fp8,
                         vae_tiling=pixels_per_video > 768 * 512 * 121 or not fits,
                         fp8_storage=fp8_bytes > 0 and not fits and (fits_in_fp8 or fp8_bytes * 1.3 > free_bytes))


def load_components(info: ModelInfo, dtype=None, cancel=None) -> dict:
    """Every component of a model, loaded on the CPU from local safetensors files. `cancel` (a
    CancelToken) is checked before each component: a large model takes minutes to read."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    index = json.loads((info.path / "model_index.json").read_text(encoding="utf-8"))
    components = {}
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        if cancel is not None:
            cancel.check()
        library, class_name = spec
        components[component] = load_component(info.path / component, library, class_name, dtype)
    return components


def load_component(folder: Path, library: str, class_name: str, dtype=None):
    """One component folder, loaded on the CPU from local safetensors files."""
    if library not in _LIBRARIES:
        raise ModelError(f"{folder} needs code from {library!r}; Kinora will not run it")
    config = folder / "config.json"
    if config.is_file() and "auto_map" in json.loads(config.read_text(encoding="utf-8") or "{}"):
        # Kinora loads the installed library's own class, so such code would never run; saying so
        # beats loading a model whose authors expected their code to change its behaviour.
        raise ModelError(f"{folder} asks for code shipped with the model (auto_map); Kinora never runs remote "
                         "code: use a model made of standard diffusers/transformers classes")
    if _has_weights(class_name) and (problem := _pickle_weights_problem(folder)):
        raise ModelError(problem)
    cls = getattr(importlib.import_module(_LIBRARIES[library]), class_name, None)
    if cls is None:
        raise ModelError(f"{folder} needs {library}.{class_name}, which the installed diffusers or transformers "
                         "does not have; update them")
    try:
        if not _has_weights(class_name):
            return cls.from_pretrained(str(folder), local_files_only=True)
        if library == "transformers":
            return cls.from_pretrained(str(folder), local_files_only=True, use_safetensors=True, dtype=dtype)
        return cls.from_pretrained(str(folder), local_files_only=True, use_safetensors=True, torch_dtype=dtype)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelError(f"{folder} cannot be loaded ({str(error).splitlines()[0]}); the model may be "
                         "incomplete or for another version: download it again") from error
