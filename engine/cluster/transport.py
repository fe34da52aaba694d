"""What a request needs on a machine that shares nothing with this one but Ray.

`pack` turns a request into its JSON with every file it reads replaced by a marker, and the
bytes of those files (the media it holds, the stored latents beside them, a preset file);
`unpack` writes the files into a folder on the worker and puts their paths in place of the
markers. The output goes into the worker's folder under the output's own name, so the files
it writes (name.mp4, name-2.mp4, the latents and provenance beside them) come back under the
same names (`collect`) and land beside the output the user asked for (`deliver`).

Only plain data travels: JSON text and bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError

INPUT = "kinora-input:"
OUTPUT = "kinora-output:"
LATENTS_SUFFIX = ".latents.safetensors"
# One job's inputs in memory at once on both sides: more is a sign of a mistake (a whole
# project's media for a five-second range), refused with what to do.
MAX_INPUT_BYTES = 4 << 30


@dataclass(frozen=True)
class Packed:
    request_json: str  # the request with markers in place of its files
    files: dict[str, bytes]  # marker key ("0/name.mp4") -> content
    output_name: str


def input_files(request) -> list[str]:
    """Every file the request reads: its inputs, the stored latents beside them, a preset file."""
    paths = []
    for path in request.inputs():
        paths.append(os.path.abspath(path))
        latents = Path(path).with_suffix(LATENTS_SUFFIX)
        if latents.is_file():
            paths.append(str(latents.resolve()))
    preset = request.sampling.preset
    if preset and preset.endswith(".toml") and os.path.isfile(preset):
        paths.append(os.path.abspath(preset))
    return list(dict.fromkeys(paths))


def pack(request, model: str | None = None) -> Packed:
    """The request as plain data for a worker; `model` replaces its model (a folder on this
    machine becomes the model's name, which the worker finds in its own folders)."""
    from dataclasses import replace

    if model is not None:
        request = replace(request, sampling=replace(request.sampling, model=model))
    folders: dict[str, str] = {}
    files: dict[str, bytes] = {}
    mapping: dict[str, str] = {}  # path on this machine -> its marker
    total = 0
    for path in input_files(request):
        # Files beside each other stay beside each other (a clip and its stored latents).
        folder = folders.setdefault(os.path.dirname(path), str(len(folders)))
        key = f"{folder}/{os.path.basename(path)}"
        try:
            content = Path(path).read_bytes()
        except OSError as error:
            raise UserError(f"{path}: cannot be read to send it to the cluster ({error.strerror}); "
                            "check the file is there") from None
        total += len(content)
        if total > MAX_INPUT_BYTES:
            raise UserError(f"the files of this job are over {MAX_INPUT_BYTES >> 30} GiB ({path} and before); "
                            "trim the range or the clips it reads")
        files[key] = content
        mapping[path] = INPUT + key
    data = _remap(request.to_json(), mapping)
    output_name = os.path.basename(request.output)
    data["output"] = OUTPUT + output_name
    return Packed(json.dumps(data), files, output_name)


def _remap(value, mapping: dict[str, str], base_dir: str | None = None):
    """The JSON value with every path of `mapping` (absolute, or relative to the timeline
    snapshot's folder where a media entry holds it) replaced by its marker."""
    if isinstance(value, dict):
        if isinstance(value.get("project"), dict) and isinstance(value.get("base_dir"), str):
            return {**value, "project": _remap(value["project"], mapping, value["base_dir"]), "base_dir": INPUT}
        if str(value.get("schema", "")).startswith("Media.") and base_dir is not None:
            where = os.path.normpath(os.path.join(base_dir, str(value.get("path", ""))))
            marker = mapping.get(where) or mapping.get(os.path.normpath(str(value.get("abs_path", ""))))
            if marker is not None:
                return {**value, "path": marker, "abs_path": marker}
            return value
        return {key: _remap(item, mapping, base_dir) for key, item in value.items()}
    if isinstance(value, list):
        return [_remap(item, mapping, base_dir) for item in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value


def unpack(packed_json: str, files: dict[str, bytes], folder: str):
    """The request with its files written under `folder` and its output in `folder`/out; the
    finished windows of an earlier run that came with it (engine.cluster.window_relay) go into
    the output's windows folder, where the chain finds them."""
    from engine.cluster import window_relay
    from engine.generate.requests import request_from_json
    from engine.generate.window_store import windows_folder

    root = Path(folder)
    files, windows = window_relay.split(files)
    for key, content in files.items():
        target = (root / "in" / key).resolve()
        if root.resolve() not in target.parents:  # a key is a folder number and a file name, never a path out
            raise UserError(f"a cluster job named an input outside its folder: {key!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (root / "out").mkdir(parents=True, exist_ok=True)
    data = _unmark(json.loads(packed_json), str(root / "in"), str(root / "out"))
    request = request_from_json(data, "cluster job")
    if windows:
        window_relay.accept(windows_folder(Path(request.output)), windows)
    return request


def _unmark(value, inputs: str, outputs: str):
    if isinstance(value, dict):
        return {key: _unmark(item, inputs, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_unmark(item, inputs, outputs) for item in value]
    if isinstance(value, str):
        if value == INPUT:
            return inputs
        if value.startswith(INPUT):
            return os.path.join(inputs, *value[len(INPUT):].split("/"))
        if value.startswith(OUTPUT):
            return os.path.join(outputs, os.path.basename(value[len(OUTPUT):]))
    return value


def collect(folder: str) -> dict[str, bytes]:
    """The files a job wrote in its output folder, by name."""
    out = Path(folder) / "out"
    return {path.name: path.read_bytes() for path in sorted(out.iterdir()) if path.is_file()}


def deliver(files: dict[str, bytes], made: dict, output: str) -> dict:
    """Write the returned files beside `output` (each atomically, under its own name) and return
    `made` with its paths on this machine."""
    from engine.fsutil import atomic_path

    folder = Path(output).resolve().parent
    for name, content in files.items():
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise UserError(f"a cluster worker returned a file named {name!r}; only plain names are accepted")
        with atomic_path(folder / name) as temp:
            Path(temp).write_bytes(content)
    return {**made, "written": [str(folder / os.path.basename(path)) for path in made["written"]]}
