"""Style presets: TOML files that add words to every prompt, a negative prompt, sampling
defaults and optionally a LoRA. A preset applies to the plan's prompts, so it reaches every
tool and every frame, whichever door the request came through."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import UserError
from engine.generate.models import RESOURCES
from engine.generate.settings import SamplingSettings

PRESETS_DIR = RESOURCES / "presets"
# setting -> (accepted types, what to write)
_TYPES = {"prompt_prefix": (str, "text"), "prompt_suffix": (str, "text"), "negative": (str, "text"),
          "guidance": ((int, float), "a number"), "steps": (int, "a whole number"), "lora": (str, "a file name"),
          "lora_weight": ((int, float), "a number")}
MAX_TEXT = 20_000  # as a request's prompt (engine.generate.requests)
MAX_LORA_WEIGHT = 10.0  # past this a LoRA's weights overflow into a picture of noise


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative: str = ""
    guidance: float | None = None
    steps: int | None = None
    lora: str | None = None
    lora_weight: float = 1.0

    def prompt(self, text: str) -> str:
        return " ".join(part for part in (self.prompt_prefix, text, self.prompt_suffix) if part)

    def settings(self, settings: SamplingSettings) -> SamplingSettings:
        return replace(settings, guidance=settings.guidance if settings.guidance is not None else self.guidance,
                       steps=settings.steps if settings.steps is not None else self.steps)

    def apply(self, plan):
        """The plan with this preset's words around every prompt, and its negative prompt where
        a prompt has none."""
        return replace(plan, prompts=tuple(self.prompt(text) for text in plan.prompts),
                       negatives=tuple(negative or self.negative for negative in plan.negatives))


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_preset(name: str) -> Preset:
    if name.endswith(".toml"):
        path = Path(name)
    elif name and not name.startswith(".") and not any(c in name for c in "/\\"):  # a name, not a way out
        path = PRESETS_DIR / f"{name}.toml"
    else:
        path = None
    try:
        found = path is not None and path.is_file()
    except OSError:  # a name too long for the file system, say
        found = False
    if not found:
        raise UserError(f"unknown preset {name!r}; use one of {', '.join(preset_names()) or '(none installed)'}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"preset {path} cannot be read: {error}") from error
    except RecursionError:  # tomllib reads nested arrays by recursion
        raise UserError(f"preset {path} cannot be read: it is nested too deeply") from None
    unknown = set(data) - set(_TYPES)
    if unknown:
        raise UserError(f"preset {path} has unknown settings {', '.join(sorted(unknown))}; "
                        f"use {', '.join(sorted(_TYPES))}")
    for key, value in data.items():
        kinds, what = _TYPES[key]
        if isinstance(value, bool) or not isinstance(value, kinds) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise UserError(f"preset {path}: {key} must be {what}, not {value!r}")
        if isinstance(value, str) and ("\x00" in value or len(value) > MAX_TEXT):
            raise UserError(f"preset {path}: {key} must be text without NUL characters, under {MAX_TEXT} characters")
    if "steps" in data and not 1 <= data["steps"] <= 1000:
        raise UserError(f"preset {path}: steps {data['steps']} must be between 1 and 1000")
    if "guidance" in data and not 0 <= data["guidance"] <= 50:
        raise UserError(f"preset {path}: guidance {data['guidance']} must be between 0 and 50")
    if "lora_weight" in data and not -MAX_LORA_WEIGHT <= data["lora_weight"] <= MAX_LORA_WEIGHT:
        raise UserError(f"preset {path}: lora_weight {data['lora_weight']} must be between "
                        f"{-MAX_LORA_WEIGHT:g} and {MAX_LORA_WEIGHT:g}")
    lora = data.get("lora")
    if lora:
        try:
            lora_path = (path.parent / lora).resolve()
        except (OSError, RuntimeError) as error:  # a name too long, a loop of links
            raise UserError(f"preset {path}: LoRA {lora!r} cannot be found ({error})") from None
        if lora_path.suffix != ".safetensors":
            raise UserError(f"preset {path}: LoRA {lora} must be a .safetensors file")
        data["lora"] = str(lora_path)
    return Preset(name=path.stem, **data)
