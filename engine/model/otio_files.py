"""Reading and writing OpenTimelineIO files (.otio, .otioz, .otiod, and FCP 7 XML through OTIO's
fcp_xml adapter, checked with defusedxml first). Every failure is one ProjectFileError naming
the file. The timeline mapping itself is in otio_io.py.

OTIO's reader is C++ and recurses once per JSON level: a small file of nested brackets crashes
the process. So every OTIO JSON text (an .otio file, the content.otio inside an .otioz or
.otiod, a pasted string) is size-capped and its nesting measured before OTIO sees it
(`check_otio_input`)."""

from __future__ import annotations

import json
import os
import zipfile

import opentimelineio as otio

from engine.errors import ProjectFileError
from engine.fsutil import atomic_write_bytes
from engine.model.checked_json import json_nesting_exceeds

METADATA_KEY = "kinora"  # where Kinora's own data travels in otio metadata
MAX_OTIO_BYTES = 64 * 2**20  # the timeline JSON; a feature film's cut is a few MiB
# JSON levels: a timeline, its stack, a track, a clip, its reference and metadata take about
# a dozen; nested stacks (compound clips) and tools' metadata add some. OTIO crashes in the
# thousands.
MAX_OTIO_DEPTH = 256
CONTENT_NAME = "content.otio"  # the timeline inside an .otioz archive or an .otiod folder


def read_otio(path: str | os.PathLike) -> otio.schema.Timeline:
    """The timeline in an .otio (or .otioz/.otiod) file; ProjectFileError names the file otherwise."""
    return as_timeline(read_any(path), os.fspath(path))[0]


def read_any(path: str | os.PathLike) -> object:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ProjectFileError(f"{path} does not exist; check the path of the OpenTimelineIO file")
    check_otio_input(path)
    try:
        obj = otio.adapters.read_from_file(path)
    except Exception as error:  # the adapters raise many kinds (JSON, schema, plugin errors)
        raise ProjectFileError(f"{path} is not a readable OpenTimelineIO file ({error_reason(error)}); "
                               "export it again as .otio from the other editor") from None
    if path.lower().endswith(".otio"):
        try:
            with open(path, encoding="utf-8") as handle:
                restore_exact_metadata(obj, json.load(handle))
        except (OSError, ValueError, RecursionError):
            pass  # otio read it; its own copy of the metadata will do
    return obj


def check_otio_input(path: str) -> None:
    """Refuse, before OTIO parses anything, a timeline too large or nested too deeply for it."""
    lower = path.lower().rstrip("/\\")
    if lower.endswith(".xml"):
        check_xml(path)
    elif os.path.isdir(path):  # .otiod: a folder holding content.otio and media
        _check_json_file(os.path.join(path, CONTENT_NAME), path)
    elif lower.endswith(".otioz"):
        _check_otioz(path)
    else:
        _check_json_file(path, path)


def _check_json_file(json_path: str, where: str) -> None:
    try:
        size = os.path.getsize(json_path)
        if size > MAX_OTIO_BYTES:
            raise ProjectFileError(f"{where} is {size / 2**20:.0f} MiB; OpenTimelineIO timelines over "
                                   f"{MAX_OTIO_BYTES // 2**20} MiB are refused (is it really a timeline?)")
        with open(json_path, "rb") as handle:
            raw = handle.read(MAX_OTIO_BYTES + 1)
    except OSError as error:
        raise ProjectFileError(f"{where} cannot be read ({error.strerror or error}); check the path of the "
                               "OpenTimelineIO file") from None
    check_otio_text(raw, where)


def check_otio_text(raw: bytes, where: str) -> None:
    if len(raw) > MAX_OTIO_BYTES:
        raise ProjectFileError(f"{where} is over {MAX_OTIO_BYTES // 2**20} MiB; OpenTimelineIO timelines that large "
                               "are refused")
    try:
        raw.decode("utf-8")  # OTIO reads invalid UTF-8 into strings that fail later, anywhere
    except UnicodeDecodeError as error:
        raise ProjectFileError(f"{where} is not UTF-8 text (bad byte at {error.start}); is it really an "
                               "OpenTimelineIO file?") from None
    if json_nesting_exceeds(raw, MAX_OTIO_DEPTH):
        raise ProjectFileError(f"{where} is refused: its data is nested more than {MAX_OTIO_DEPTH} levels deep, "
                               "which no editor writes (a damaged or hostile file)")


def _check_otioz(path: str) -> None:
    """An .otioz is a zip of content.otio and media; only content.otio is read, so that is what
    is capped (its declared size, which zipfile holds the read to) and measured."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > 100_000:
                raise ProjectFileError(f"{path} holds {len(members)} files; .otioz archives are refused past 100000")
            content = next((m for m in members if m.filename == CONTENT_NAME), None)
            if content is None:
                raise ProjectFileError(f"{path} has no {CONTENT_NAME}; is it really an .otioz file?")
            if content.file_size > MAX_OTIO_BYTES:
                raise ProjectFileError(f"{path}: its {CONTENT_NAME} expands to {content.file_size / 2**20:.0f} MiB; "
                                       f"OpenTimelineIO timelines over {MAX_OTIO_BYTES // 2**20} MiB are refused")
            raw = archive.read(content)
    except ProjectFileError:
        raise
    except Exception as error:  # noqa: BLE001 - zipfile raises many kinds (bad CRC, encryption, methods, zlib)
        raise ProjectFileError(f"{path} is not a readable .otioz archive ({error_reason(error)})") from None
    check_otio_text(raw, path)


def check_xml(path: str) -> None:
    """FCP 7 XML (what Premiere and Resolve export) is read by OTIO's fcp_xml adapter; first the
    file goes through defusedxml, so entity tricks (billion laughs, external entities) are
    refused before any parser expands them."""
    import defusedxml.ElementTree as SafeTree
    from defusedxml import DefusedXmlException

    if os.path.getsize(path) > 64 * 2**20:
        raise ProjectFileError(f"{path} is over 64 MiB; XML timelines that large are refused")
    try:
        SafeTree.parse(path, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise ProjectFileError(f"{path} is refused: it declares XML entities ({type(error).__name__}), which "
                               "timelines never need and attacks use") from None
    except SafeTree.ParseError as error:
        raise ProjectFileError(f"{path} is not well-formed XML ({error})") from None


def read_otio_string(text: str) -> object:
    check_otio_text(text.encode("utf-8", "surrogatepass"), "the OpenTimelineIO text")
    try:
        obj = otio.adapters.read_from_string(text, "otio_json")
    except Exception as error:  # as in read_any
        raise ProjectFileError(f"the OpenTimelineIO text cannot be read ({error_reason(error)})") from None
    try:
        restore_exact_metadata(obj, json.loads(text))
    except (ValueError, RecursionError):
        pass
    return obj


def restore_exact_metadata(obj: object, data: object) -> None:
    """Put back Kinora's metadata exactly as written: otio's JSON reader may change the last
    digit of a float (1e-30 reads as 9.999999999999999e-31), Python's json does not. Walks the
    timeline, its tracks, their items and all markers in step with the parsed JSON."""
    if not isinstance(data, dict) or not hasattr(obj, "metadata"):
        return
    meta = data.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get(METADATA_KEY), dict):
        obj.metadata[METADATA_KEY] = meta[METADATA_KEY]
    pairs = []
    if isinstance(obj, otio.schema.Timeline):
        pairs.append((obj.tracks, data.get("tracks")))
    if isinstance(obj, (otio.core.Composition, otio.schema.SerializableCollection)):
        pairs += zip(obj, data.get("children") or [], strict=False)
    if hasattr(obj, "markers"):
        pairs += zip(obj.markers, data.get("markers") or [], strict=False)
    for child, child_data in pairs:
        restore_exact_metadata(child, child_data)


def error_reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def as_timeline(obj: object, where: str) -> tuple[otio.schema.Timeline, list[str]]:
    if isinstance(obj, otio.schema.Timeline):
        return check_structure(obj, where), []
    if isinstance(obj, otio.schema.SerializableCollection):
        timelines = [child for child in obj if isinstance(child, otio.schema.Timeline)]
        if timelines:
            skipped = [f"{where} holds {len(timelines)} timelines; imported the first, "
                       f"'{timelines[0].name}'"] if len(timelines) > 1 else []
            return check_structure(timelines[0], where), skipped
    raise ProjectFileError(f"{where} holds no timeline (found {type(obj).__name__}); "
                           "export a timeline (sequence) from the other editor")


def check_structure(timeline: otio.schema.Timeline, where: str) -> otio.schema.Timeline:
    """OTIO's reader accepts `"tracks": null`, and OTIO itself then crashes on the first use of
    the timeline (SIGSEGV); a track's null children it refuses on its own."""
    if not isinstance(timeline.tracks, otio.schema.Stack):
        raise ProjectFileError(f"{where} holds a timeline without tracks; export it again from the other editor")
    return timeline


def write_otio(timeline: otio.schema.Timeline, path: str | os.PathLike) -> None:
    """Write atomically: a temp file in the same folder, fsynced, then renamed over `path`."""
    path = os.fspath(path)
    try:
        data = otio.adapters.write_to_string(timeline, "otio_json").encode("utf-8")
        atomic_write_bytes(path, data)
    except OSError as error:
        raise ProjectFileError(f"cannot write {path}: {error.strerror or error}; "
                               "choose another folder or free some disk space") from None
