"""OpenTimelineIO interchange: a Kinora cut to and from Resolve, Kdenlive or Premiere (.otio).

This is the only module that sees OpenTimelineIO time (RationalTime) and Gaps.

Time. RationalTime values are rescaled to the project rate and rounded half up
(engine.time.round_half_up: a time exactly between two frames lands on the later one). Float
rates (23.976, 29.97, 59.94) are read as the exact NTSC fractions (24000/1001, 30000/1001,
60000/1001) through engine.time.snap_rate. An item's start and end are each rounded from the
exact running sum of everything before them on its track, so rounding never opens a gap or an
overlap between neighbours; a clip whose times fall between project frames is imported rounded,
with a warning. The project rate is the one Kinora wrote into the file, else the rate most
clips and gaps on video tracks use (ties: the first clip's), else the global start's, else 24.

Mapping.
- otio Video/Audio tracks are Kinora video/audio tracks. Kinora prompt tracks travel as otio
  Video tracks marked metadata["kinora"]["kind"] == "prompt" whose clips have a
  GeneratorReference of kind "kinora.prompt" carrying the prompt text.
- Kinora tracks are in display order, top first; otio video tracks are bottom first (V1 is
  index 0), audio tracks follow in order (A1 first). Audio tracks stay below in Kinora.
- Gaps are implicit in Kinora (items sit at absolute starts); export writes otio Gaps.
- Kinora never overlaps items on one track, so transitions become an A/B roll (ab_roll.py): B
  moves to a companion track directly above (Track.extra["transition_partner"] names the
  original), A runs on by the out_offset, B starts earlier by the in_offset, and the overlap
  gets crossing linear influence curves. Export folds companions back into one otio track with
  SMPTE dissolves when that re-imports exactly; otherwise they go out separately, with a warning.
- A Kinora transition on a cut (transitions.py) goes out as an otio Transition between the two
  clips (SMPTE_Dissolve for a cross-dissolve, Custom for a dip or wipe); see otio_cuts.py.
- A still's picture is the same at any source frame, so Kinora has no source start for it; the
  one its otio clip names is kept in Still.extra (STILL_SOURCE_START_KEY) and written back.
- Timeline markers are markers on the otio stack. Markers found on otio tracks, clips or gaps
  are imported as timeline markers at the same absolute frames (with a warning for clips and gaps).
- Kinora-only data (ids, curves, prompts, generation recipes, gains, flags, unknown fields,
  project settings, media details) travels in metadata["kinora"] of every object Kinora
  writes, so a round trip through another editor keeps it. On import the otio timing wins:
  when another editor moved or trimmed a clip, its Kinora data only fills in the rest.

Anything that cannot be mapped is reported in the returned list of warnings, never dropped
silently.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from engine.errors import EditError, ProjectFileError
from engine.model import serialize
from engine.model.ab_roll import PARTNER_KEY, RollPiece, assign_lanes, companion_groups, plan_dissolves
from engine.model.edits import check_item_kind
from engine.model.items import Item, Marker, MediaRef, Still, TextBlock, frozen_mapping, new_id
from engine.model.otio_cuts import cut_transition_kept, cut_transition_to_otio
from engine.model.otio_files import (
    METADATA_KEY,
    as_timeline,
    error_reason,
    read_any,
    read_otio_string,
    write_otio,
)
from engine.model.project import Project, Timeline, Track
from engine.model.titles import Title
from engine.time import FrameRange, FrameRate, round_half_up, snap_rate

METADATA_VERSION = 1
PROMPT_GENERATOR = "kinora.prompt"
AVAILABLE_START_KEY = "otio_available_start"  # MediaRef.extra: the media's first timecode, in seconds "n/d"
GLOBAL_START_KEY = "otio_global_start"  # Timeline.extra: the otio timeline's start time, {"value", "rate"}
# Still.extra: where the still's otio clip starts in its source, {"value", "rate"} as in the file. The
# picture is the same at any source frame, so Kinora has no field for it; kept so a cut comes back as it was.
STILL_SOURCE_START_KEY = "otio_source_start"
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".dpx",
                              ".tga", ".gif", ".psd", ".heic"})
OTIO_COLORS = frozenset({"PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
                         "BLACK", "WHITE"})
_DEFAULT_RATE = FrameRate(Fraction(24))


# --- small conversions ----------------------------------------------------------------------------


def _plain(value: object) -> object:
    """otio metadata (AnyDictionary/AnyVector) as plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, bytes)) or value is None:
        return value
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__"):
        return [_plain(v) for v in value]
    return value


def _jsonable(value: object) -> object:
    """Mappings (MappingProxyType) and tuples as dicts and lists, for otio metadata."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return value


def _kinora_meta(obj: object) -> dict:
    raw = obj.metadata.get(METADATA_KEY) if obj.metadata else None
    value = _plain(raw) if raw is not None else None
    return value if isinstance(value, dict) else {}


def _exact_rate(rate: float) -> Fraction:
    return snap_rate(float(rate))


def _seconds(time: otio.opentime.RationalTime) -> Fraction:
    return Fraction(time.value) / _exact_rate(time.rate)


def _time(frames: Fraction | int, rate: FrameRate) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(float(frames), float(rate.fps))


def _time_range(start: Fraction | int, duration: int, rate: FrameRate) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, rate), _time(duration, rate))


def _path_to_url(path: str) -> str:
    return Path(path).as_uri() if os.path.isabs(path) else path.replace(os.sep, "/")


def _url_to_path(url: str, base_dir: str) -> str:
    if url.lower().startswith("file:"):
        parsed = urllib.parse.urlparse(url)
        path = urllib.request.url2pathname(parsed.path)
        if parsed.netloc and parsed.netloc != "localhost":
            path = f"//{parsed.netloc}{path}"
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(base_dir, url))


def _effect_label(effect: otio.schema.Effect) -> str:
    names = [n for n in (effect.name, effect.effect_name) if n and n != type(effect).__name__]
    return f"{names[0]} ({names[1]})" if len(names) == 2 and names[0] != names[1] else (names or [type(effect).__name__])[0]


def _otio_color(color: str) -> str:
    return color.upper() if color.upper() in OTIO_COLORS else "RED"


# --- import -------------------------------------------------------------------------------------


def import_otio(path_or_timeline: str | os.PathLike | otio.schema.Timeline, *,
                rate: FrameRate | Fraction | float | int | str | None = None) -> tuple[Project, list[str]]:
    """A Kinora project from an .otio file or timeline, and the warnings for what did not map.

    `rate` forces the project rate; by default it comes from the file (see the module notes).
    Relative media paths are resolved against the .otio file's folder (the current folder for
    a timeline object). Raises ProjectFileError naming the file when it cannot be read.
    """
    if isinstance(path_or_timeline, otio.schema.Timeline):
        timeline, warnings, base_dir = path_or_timeline, [], os.getcwd()
        where = f"the OpenTimelineIO timeline '{timeline.name}'"
    else:
        where = os.fspath(path_or_timeline)
        timeline, warnings = as_timeline(read_any(where), where)
        base_dir = os.path.dirname(os.path.abspath(where))
    try:
        importer = _Importer(timeline, rate, base_dir)
        importer.warnings[:0] = warnings
        return importer.project(), importer.warnings
    except (ValueError, ZeroDivisionError, OverflowError) as error:  # zero or negative rates, infinite times
        raise ProjectFileError(f"{where} holds times Kinora cannot use ({error_reason(error)}); "
                               "export it again from the other editor") from None


def import_otio_string(text: str, *, rate=None) -> tuple[Project, list[str]]:
    timeline, warnings = as_timeline(read_otio_string(text), "the OpenTimelineIO text")
    project, more = import_otio(timeline, rate=rate)
    return project, warnings + more


class _Importer:
    def __init__(self, timeline: otio.schema.Timeline, rate, base_dir: str, base: Project | None = None):
        self.timeline = timeline
        self.base_dir = base_dir
        self.warnings: list[str] = []
        self.used_ids: set[str] = set()
        self.media_by_path: dict[str, str] = {}
        self.markers: list[Marker] = []
        self.still_source_starts: dict[int, otio.opentime.RationalTime] = {}  # id(RollPiece) -> its clip's start
        restored = base is not None
        if base is None:
            base, restored = self._base_project(_kinora_meta(timeline))
        self.base = base
        self.media: dict[str, MediaRef] = dict(self.base.media)
        self.known_media = set(self.media)  # refs restored from Kinora data keep their kind
        if rate is not None:
            self.rate = FrameRate.parse(rate)
        elif restored:
            self.rate = self.base.settings.rate
        else:
            self.rate = self._guess_rate()
        for ref in self.media.values():
            self.media_by_path.setdefault(os.path.normpath(ref.path), ref.id)

    # -- the whole project

    def _base_project(self, meta: dict) -> tuple[Project, bool]:
        """Settings, media bin and generation defaults Kinora wrote, and whether there were any."""
        data = meta.get("project")
        if data is None:
            return Project(), False
        try:
            return serialize.project_from_dict(data, self.base_dir), True
        except Exception as error:  # metadata another program touched may be anything
            self.warnings.append(f"the Kinora project data in this file cannot be read ({error_reason(error)}); "
                                 "project settings and unused media were not restored")
            return Project(), False

    def _guess_rate(self) -> FrameRate:
        """The rate most clips and gaps of the video tracks use, ties going to the first clip's;
        else the global start time's; else 24. (Editors may write a clip at its media's rate, as
        Premiere does for a 15 fps file in a 30 fps sequence, so one clip alone can mislead.)"""
        votes: dict[Fraction, int] = {}
        first_clip = None
        for track in self.timeline.video_tracks():
            for child in track:
                if isinstance(child, (otio.schema.Clip, otio.schema.Gap)):
                    try:
                        rate = _exact_rate(child.trimmed_range().duration.rate)
                    except Exception:  # an item with no range at all; it has no say
                        continue
                    votes[rate] = votes.get(rate, 0) + 1
                    if first_clip is None and isinstance(child, otio.schema.Clip):
                        first_clip = rate
        start = self.timeline.global_start_time
        if start is not None and start.rate > 0:
            votes[_exact_rate(start.rate)] = votes.get(_exact_rate(start.rate), 0) + 1
        return FrameRate(max(votes, key=lambda r: (votes[r], r == first_clip))) if votes else _DEFAULT_RATE

    def project(self) -> Project:
        for marker in self.timeline.tracks.markers:
            self._add_marker(marker, Fraction(0), Fraction(0), None)
        lanes_by_track: list[tuple[str, list[tuple[Track, int | None]]]] = []
        counts = {otio.schema.TrackKind.Video: 0, otio.schema.TrackKind.Audio: 0}
        for index, child in enumerate(self.timeline.tracks):
            if not isinstance(child, otio.schema.Track):
                self.warnings.append(f"{type(child).__name__} '{child.name}' directly in the timeline "
                                     f"(position {index + 1}) is not a track; it was not imported")
                continue
            if child.kind not in (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio):
                self.warnings.append(f"track '{child.name}' of kind {child.kind!r} is not video or audio; "
                                     "it was not imported")
                continue
            counts[child.kind] += 1
            lanes_by_track.append((child.kind, self.track(child, f"{child.kind[0]}{counts[child.kind]}")))
        tracks = self._ordered(lanes_by_track)
        settings = self.base.settings
        if settings.rate != self.rate:
            settings = dataclasses.replace(settings, rate=self.rate)
        extra = dict(self.base.timeline.extra)
        start = self.timeline.global_start_time
        if start is not None and start.value != 0 and GLOBAL_START_KEY not in extra:
            extra[GLOBAL_START_KEY] = {"value": start.value, "rate": start.rate}
        project = Project(settings=settings, media=self.media,
                          timeline=Timeline(tracks=tracks, markers=self.markers, extra=frozen_mapping(extra)),
                          generation=self.base.generation, extra=self.base.extra)
        project.timeline.tracks = [self._valid(project, track) for track in tracks]
        return project

    def _valid(self, project: Project, track: Track) -> Track:
        """The track without items Kinora's edit rules refuse (a still on an audio track, a clip
        of silent media there...), so the project always saves and loads."""
        kept = []
        for item in track.items:
            try:
                check_item_kind(project, track, item)
                kept.append(item)
            except EditError as error:
                self.warnings.append(f"track '{track.name}' at {self.rate.timecode(item.start)}: {error}; "
                                     "it was not imported")
        return track if len(kept) == len(track.items) else dataclasses.replace(track, items=tuple(kept))

    def _ordered(self, lanes_by_track) -> list[Track]:
        """Kinora display order: the order Kinora wrote when every track says so, else video
        tracks top first (companions above their track) and audio tracks below."""
        everything = [pair for _, lanes in lanes_by_track for pair in lanes]
        wanted = [index for _, index in everything]
        if everything and sorted(i for i in wanted if i is not None) == list(range(len(everything))):
            return [track for track, _ in sorted(everything, key=lambda pair: pair[1])]
        video = [[t for t, _ in lanes] for kind, lanes in lanes_by_track if kind == otio.schema.TrackKind.Video]
        audio = [[t for t, _ in lanes] for kind, lanes in lanes_by_track if kind == otio.schema.TrackKind.Audio]
        ordered = [t for lanes in reversed(video) for t in reversed(lanes)]
        return ordered + [t for lanes in audio for t in lanes]

    # -- one otio track

    def track(self, otio_track: otio.schema.Track, default_name: str = "") -> list[tuple[Track, int | None]]:
        """The Kinora track (and companion tracks, for transitions) made from one otio track,
        each with the position Kinora wrote for it, if any."""
        meta = _kinora_meta(otio_track)
        audio = otio_track.kind == otio.schema.TrackKind.Audio
        kind = "audio" if audio else ("prompt" if meta.get("kind") == "prompt" else "video")
        lanes_meta = meta.get("lanes") if isinstance(meta.get("lanes"), list) else []
        lanes_meta = [lane if isinstance(lane, dict) else {} for lane in lanes_meta]
        stored_name = lanes_meta[0].get("name") if lanes_meta else None
        name = otio_track.name or (stored_name if isinstance(stored_name, str) else default_name)
        if otio_track.source_range is not None:
            self.warnings.append(f"track '{name}' is trimmed in the file; Kinora ignores track trims, "
                                 "so its items keep their untrimmed positions")
        for effect in otio_track.effects:
            self.warnings.append(f"track '{name}': effect '{_effect_label(effect)}' is not "
                                 "supported; imported without it")
        for marker in otio_track.markers:
            self._add_marker(marker, Fraction(0), Fraction(0), None)
        entries: list[object] = []  # RollPiece, "transition" objects, or None for gaps and skipped items
        position = Fraction(0)
        for child in otio_track:
            if isinstance(child, otio.schema.Transition):
                entries.append(child)
                continue
            try:
                duration = _seconds(child.duration())
            except Exception:  # a clip with neither a source nor an available range
                self.warnings.append(f"track '{name}': '{child.name}' has no duration; it was not imported")
                entries.append(None)
                continue
            start_seconds, position = position, position + duration
            start, stop = self._frame(start_seconds), self._frame(position)
            for marker in getattr(child, "markers", ()):
                origin = _seconds(child.trimmed_range().start_time)
                self._add_marker(marker, start_seconds, origin, f"'{child.name}' on track '{name}'")
            if isinstance(child, otio.schema.Gap):
                entries.append(None)
            elif isinstance(child, otio.schema.Clip):
                entries.append(self._piece(child, start, stop, start_seconds, kind, name))
            else:
                self.warnings.append(f"track '{name}': nested {type(child).__name__} '{child.name}' at "
                                     f"{self.rate.timecode(start)} is not supported; it was not imported")
                entries.append(None)
        pieces = [entry for entry in entries if isinstance(entry, RollPiece)]
        self._apply_transitions(entries, name)
        assign_lanes(pieces)
        enabled = otio_track.enabled
        result = []
        first_id = None
        for lane in range(max(max((p.lane for p in pieces), default=0) + 1, len(lanes_meta))):
            lane_meta = lanes_meta[lane] if lane < len(lanes_meta) else {}
            items = tuple(self._item(p, name) for p in pieces if p.lane == lane)
            track = self._track_shell(lane_meta, kind, name, lane, enabled, first_id)
            first_id = first_id or track.id
            index = lane_meta.get("index")
            result.append((dataclasses.replace(track, items=items),
                           index if isinstance(index, int) and not isinstance(index, bool) else None))
        return result

    def _track_shell(self, meta: dict, kind: str, name: str, lane: int, enabled: bool, first_id: str | None) -> Track:
        flag = "muted" if kind == "audio" else "hidden"
        flags = {key: meta.get(key) is True for key in ("muted", "locked", "hidden")}
        if lane == 0 or not meta:
            flags[flag] = not enabled  # the otio switch wins over the Kinora copy
        extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
        if lane > 0:
            extra = {**extra, PARTNER_KEY: first_id}
            name = meta.get("name") if isinstance(meta.get("name"), str) else f"{name} {chr(ord('A') + lane)}"
        track_id = self._fresh_id(meta.get("id"))
        return Track(id=track_id, kind=kind, name=name, muted=flags["muted"], locked=flags["locked"],
                     hidden=flags["hidden"], extra=frozen_mapping(extra))

    def _frame(self, seconds: Fraction) -> int:
        return round_half_up(seconds * self.rate.fps)

    def _frames_exact(self, *seconds: Fraction) -> bool:
        return all((s * self.rate.fps).denominator == 1 for s in seconds)

    def _fresh_id(self, wanted: object) -> str:
        # Another editor may duplicate a clip together with its metadata: ids must stay unique.
        value = wanted if isinstance(wanted, str) and wanted and wanted not in self.used_ids else new_id()
        self.used_ids.add(value)
        return value

    # -- clips

    def _piece(self, clip: otio.schema.Clip, start: int, stop: int, start_seconds: Fraction,
               track_kind: str, track_name: str) -> RollPiece | None:
        meta = _kinora_meta(clip)
        item_meta = meta if "schema" in meta else {}
        where = f"track '{track_name}', clip '{clip.name}' at {self.rate.timecode(start)}"
        for effect in clip.effects:
            what = type(effect).__name__ if isinstance(effect, otio.schema.TimeEffect) else "effect"
            self.warnings.append(f"{where}: {what} '{_effect_label(effect)}' is not supported; "
                                 "imported without it (at normal speed)")
        if not clip.enabled:
            self.warnings.append(f"{where}: the clip is disabled in the file; Kinora imported it enabled")
        if stop <= start:
            self.warnings.append(f"{where}: shorter than one frame at {self.rate} fps; it was not imported")
            return None
        reference = clip.media_reference
        source = clip.trimmed_range()
        piece = RollPiece(name=clip.name, kind="clip", start=start, stop=stop, meta=item_meta)
        if isinstance(reference, otio.schema.GeneratorReference) and reference.generator_kind == PROMPT_GENERATOR:
            if track_kind != "prompt":
                self.warnings.append(f"{where}: a Kinora prompt on a {track_kind} track; it was not imported")
                return None
            parameters = _plain(reference.parameters) or {}
            text = parameters.get("text", item_meta.get("text", clip.name))
            negative = parameters.get("negative", item_meta.get("negative", ""))
            piece.kind, piece.text, piece.negative = "text", str(text), str(negative)
            return piece
        if track_kind == "prompt":
            self.warnings.append(f"{where}: only prompts belong on a prompt track; the clip was not imported")
            return None
        media_id = None
        available_start = Fraction(0)
        if isinstance(reference, otio.schema.ExternalReference):
            if reference.available_range is not None:
                available_start = _seconds(reference.available_range.start_time)
            media_id = self._media_for(_url_to_path(reference.target_url, self.base_dir), track_kind,
                                       reference, item_meta.get("media"))
        elif isinstance(reference, otio.schema.MissingReference) and item_meta.get("media") in self.media:
            media_id = item_meta["media"]  # the path was lost on the way; Kinora's copy still knows it
        elif isinstance(reference, otio.schema.MissingReference):
            # Keep the cut: offline media named like the clip, for the user to relink.
            path = os.path.normpath(os.path.join(self.base_dir, reference.name or clip.name or "offline media"))
            media_id = self._media_for(path, track_kind, reference, None)
            self.warnings.append(f"{where}: the file gives no media for it (MissingReference); imported as "
                                 f"offline media {path}, relink it")
        else:
            what = (f"generator '{reference.generator_kind}'" if isinstance(reference, otio.schema.GeneratorReference)
                    else type(reference).__name__)
            self.warnings.append(f"{where}: media of type {what} is not supported; the clip was not imported")
            return None
        piece.media_id = media_id
        if self.media[media_id].kind == "image":
            piece.kind = "still"
            self.still_source_starts[id(piece)] = source.start_time
            return piece
        source_seconds = _seconds(source.start_time) - available_start
        piece.source_start = self._frame(source_seconds)
        end_seconds = start_seconds + _seconds(source.duration)
        if not self._frames_exact(start_seconds, end_seconds, source_seconds):
            self.warnings.append(f"{where}: its times fall between frames at {self.rate} fps; rounded to "
                                 f"frames {start}-{stop} (source from frame {piece.source_start})")
        if piece.source_start < 0:
            self.warnings.append(f"{where}: starts {-piece.source_start} frame(s) before its media begins; "
                                 "moved to the media's first frame")
            piece.source_start = 0
        available = self.media[media_id].frames_at(self.rate)
        # a slowed Kinora clip went out at normal speed, past its media's end: its Kinora data
        # turns the otio frames back into source frames (RollPiece.restored)
        retimed = item_meta.get("speed", 1.0) != 1.0 or item_meta.get("reverse") is True
        if available is not None and not retimed and piece.source_start + stop - start > available:
            if piece.source_start >= available:
                self.warnings.append(f"{where}: starts after the end of its media; it was not imported")
                return None
            piece.stop = start + available - piece.source_start
            self.warnings.append(f"{where}: runs past the end of its media; trimmed to end at frame {piece.stop}")
        return piece

    def _media_for(self, path: str, track_kind: str, reference: otio.schema.ExternalReference,
                   wanted_id: object) -> str:
        if isinstance(wanted_id, str) and wanted_id in self.media and os.path.normpath(self.media[wanted_id].path) == path:
            return wanted_id
        known = self.media_by_path.get(path)
        if known is not None:
            ref = self.media[known]
            if ref.kind == "audio" and track_kind == "video" and known not in self.known_media:
                self.media[known] = dataclasses.replace(ref, kind="video", has_audio=True)
            elif ref.kind == "video" and track_kind == "audio" and known not in self.known_media:
                self.media[known] = dataclasses.replace(ref, has_audio=True)
            return known
        image = os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS
        kind = "image" if image else ("audio" if track_kind == "audio" else "video")
        num_frames = rate = None
        extra = {}
        available = reference.available_range
        if available is not None and not image:
            rate = FrameRate(_exact_rate(available.duration.rate))
            num_frames = round_half_up(Fraction(available.duration.value))
            start = _seconds(available.start_time)
            if start:
                extra[AVAILABLE_START_KEY] = f"{start.numerator}/{start.denominator}"
        ref = MediaRef(id=new_id(), path=path, kind=kind, num_frames=num_frames, rate=rate,
                       has_audio=kind == "audio", extra=frozen_mapping(extra))
        self.media[ref.id] = ref
        self.media_by_path[path] = ref.id
        return ref.id

    # -- transitions and A/B lanes

    def _apply_transitions(self, entries: list[object], track_name: str) -> None:
        for i, entry in enumerate(entries):
            if not isinstance(entry, otio.schema.Transition):
                continue
            before = entries[i - 1] if i > 0 else None
            after = entries[i + 1] if i + 1 < len(entries) else None
            in_seconds, out_seconds = _seconds(entry.in_offset), _seconds(entry.out_offset)
            lead, tail = self._frame(in_seconds), self._frame(out_seconds)
            if lead + tail == 0:
                continue  # a zero-length transition is a plain cut
            if cut_transition_kept(entry, after):
                continue  # Kinora's own transition on a cut: the incoming item's Kinora data carries it
            at = after.start if isinstance(after, RollPiece) else before.stop if isinstance(before, RollPiece) else None
            where = (f"track '{track_name}': transition '{entry.name or entry.transition_type}'"
                     + (f" at {self.rate.timecode(at)}" if at is not None else ""))
            if not (isinstance(before, RollPiece) and isinstance(after, RollPiece) and before.stop == after.start):
                self.warnings.append(f"{where} is not between two imported clips (a gap or the track edge); "
                                     "imported as a cut")
                continue
            if "text" in (before.kind, after.kind):
                self.warnings.append(f"{where} between prompts has no meaning in Kinora; imported as a cut")
                continue
            problem = self._handles_problem(before, after, lead, tail)
            if problem:
                self.warnings.append(f"{where}: {problem}; imported as a cut")
                continue
            if entry.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
                self.warnings.append(f"{where} of type {entry.transition_type!r} is imported as a crossfade")
            if not self._frames_exact(in_seconds, out_seconds):
                self.warnings.append(f"{where}: its length falls between frames; rounded to {lead + tail} frames")
            before.tail_out, before.fade_out = tail, lead + tail
            after.lead_in, after.fade_in = lead, lead + tail
            after.linked_to_previous = True

    def _handles_problem(self, before: RollPiece, after: RollPiece, lead: int, tail: int) -> str | None:
        if after.kind == "clip" and after.source_start - lead < 0:
            return f"'{after.name}' lacks {lead - after.source_start} frame(s) of media before its start"
        if before.kind == "clip":
            available = self.media[before.media_id].frames_at(self.rate)
            end = before.source_start + before.stop - before.start + tail
            if available is not None and end > available:
                return f"'{before.name}' lacks {end - available} frame(s) of media after its end"
        if before.full_start + before.fade_in > before.stop - lead:
            return f"it overlaps the transition before it on '{before.name}'"
        if after.stop - after.start < tail or before.stop - before.start < lead:
            return "it is longer than the clips around it"
        return None

    # -- Kinora items

    def _item(self, piece: RollPiece, track_name: str) -> Item:
        made = piece.item()
        stored = self._stored_item(piece, type(made), track_name)
        if stored is not None:
            # an unnamed item went out named after its media; a rename in the other editor wins
            exported_name = (stored.name or self.media[piece.media_id].name) if piece.media_id else ""
            made = piece.restored(made, stored, exported_name)
        if isinstance(made, Still):  # the otio start wins over the one in the Kinora data, as all timing does
            extra = {key: value for key, value in made.extra.items() if key != STILL_SOURCE_START_KEY}
            start = self.still_source_starts.get(id(piece))
            if start is not None and start.value != 0:
                extra[STILL_SOURCE_START_KEY] = {"value": start.value, "rate": start.rate}
            made = dataclasses.replace(made, extra=frozen_mapping(extra))
        return dataclasses.replace(made, id=self._fresh_id(stored.id if stored is not None else None))

    def _stored_item(self, piece: RollPiece, kind: type, track_name: str) -> Item | None:
        if not piece.meta:
            return None
        try:
            stored = serialize.item_from_dict(piece.meta)
        except Exception as error:  # metadata another program touched may be anything
            self.warnings.append(f"track '{track_name}', clip '{piece.name}': its Kinora data cannot be "
                                 f"read ({error_reason(error)}); imported from the OpenTimelineIO data only")
            return None
        if not isinstance(stored, kind):
            self.warnings.append(f"track '{track_name}', clip '{piece.name}': its Kinora data describes a "
                                 f"{type(stored).__name__}, not a {kind.__name__}; imported from the "
                                 "OpenTimelineIO data only")
            return None
        return stored

    # -- markers

    def _add_marker(self, marker: otio.schema.Marker, item_start: Fraction, origin: Fraction,
                    owner: str | None) -> None:
        """A marker at the absolute frames it marks: `item_start` is where its owner starts on
        the timeline (seconds) and `origin` the owner's own time at that point."""
        marked = marker.marked_range
        start = self._frame(item_start + _seconds(marked.start_time) - origin)
        stop = start + max(self._frame(_seconds(marked.duration)), 0)
        meta = _kinora_meta(marker)
        stored_color = meta.get("color")
        color = (stored_color if isinstance(stored_color, str) and _otio_color(stored_color) == marker.color
                 else marker.color.lower())
        extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
        if start < 0:
            self.warnings.append(f"marker '{marker.name}' lies before the start of the timeline; moved to frame 0")
            start, stop = 0, stop - start
        self.markers.append(Marker(range=FrameRange(start, stop), name=marker.name, color=color,
                                   note=marker.comment, extra=frozen_mapping(extra)))
        if owner is not None:
            self.warnings.append(f"marker '{marker.name}' on {owner} became a timeline marker at "
                                 f"{self.rate.timecode(start)}")


# --- export -------------------------------------------------------------------------------------


def export_otio(project: Project, path: str | os.PathLike | None = None) -> tuple[otio.schema.Timeline, list[str]]:
    """The project as an otio timeline, and warnings for what other editors will not see.

    With `path`, the timeline is also written there atomically. Media paths in the Kinora data
    are stored relative to the .otio file's folder (the current folder without a path).
    """
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path))) if path is not None else os.getcwd()
    exporter = _Exporter(project, base_dir)
    timeline = exporter.timeline()
    if path is not None:
        write_otio(timeline, path)
    return timeline, list(dict.fromkeys(exporter.warnings))  # a failed merge attempt may repeat some


class _Exporter:
    def __init__(self, project: Project, base_dir: str):
        self.project = project
        self.rate = project.rate
        self.base_dir = base_dir
        self.warnings: list[str] = []
        self.crossfaded: set[str] = set()  # ids of items whose curves went out as transitions

    def timeline(self) -> otio.schema.Timeline:
        project = self.project
        # Everything but the tracks and markers, in the project-file format (versioned, upgradable).
        shell = Project(settings=project.settings, media=project.media,
                        timeline=Timeline(extra=project.timeline.extra), generation=project.generation,
                        extra=project.extra)
        meta = {"version": METADATA_VERSION, "project": _jsonable(serialize.project_to_dict(shell, self.base_dir))}
        name = Path(project.path).stem if project.path else "Kinora"
        timeline = otio.schema.Timeline(name=name, metadata={METADATA_KEY: meta})
        start = project.timeline.extra.get(GLOBAL_START_KEY)
        if isinstance(start, Mapping) and start.get("rate"):
            timeline.global_start_time = otio.opentime.RationalTime(float(start["value"]), float(start["rate"]))
        position = {track.id: i for i, track in enumerate(project.timeline.tracks)}
        exported = [pair for group in companion_groups(project.timeline.tracks) for pair in self._group_tracks(group, position)]
        # otio order: video tracks bottom first, then audio tracks from A1 down.
        video = sorted((p for p in exported if p[0] != "audio"), key=lambda p: -p[1])
        audio = sorted((p for p in exported if p[0] == "audio"), key=lambda p: p[1])
        for _, _, otio_track in [*video, *audio]:
            timeline.tracks.append(otio_track)
        for marker in project.timeline.markers:
            timeline.tracks.markers.append(self._marker(marker))
        self._summary_warnings()
        return timeline

    def _summary_warnings(self) -> None:
        curves = sum(1 for _, item in self.project.timeline.items()
                     if not isinstance(item, (TextBlock, Title)) and not item.curve.is_default
                     and item.id not in self.crossfaded)
        titles = sum(1 for _, item in self.project.timeline.items() if isinstance(item, Title))
        if titles:
            self.warnings.append(f"{titles} title(s) are not exported; OpenTimelineIO has no common form for text")
        retimed = sum(1 for _, item in self.project.timeline.items()
                      if getattr(item, "speed", 1.0) != 1.0 or getattr(item, "reverse", False))
        if retimed:
            self.warnings.append(f"{retimed} clip(s) with a speed other than 100% or playing in reverse are exported "
                                 "at normal speed, forwards (Kinora reads its own speed back)")
        if curves:
            self.warnings.append(f"{curves} item(s) have influence curves other editors cannot show; "
                                 "the curves travel in the Kinora data of each clip")
        odd_colors = sorted({m.color for m in self.project.timeline.markers if m.color.upper() not in OTIO_COLORS})
        if odd_colors:
            self.warnings.append(f"marker colour(s) {', '.join(odd_colors)} have no OpenTimelineIO name; other "
                                 "editors show them red (Kinora keeps the colour in its data)")

    def _group_tracks(self, group: list[Track], position: dict[str, int]) -> list[tuple[str, int, otio.schema.Track]]:
        """(kind, Kinora position, otio track) for a track and its companions: one merged otio
        track with transitions when that re-imports exactly, else one otio track each."""
        if len(group) > 1:
            merged, crossfaded = self._otio_track(group, position)
            if merged is not None and self._reimports_as(merged, group):
                self.crossfaded |= crossfaded
                return [(group[0].kind, position[group[0].id], merged)]
            self.warnings.append(f"track '{group[0].name}' and its companion track(s) "
                                 f"{', '.join(repr(t.name) for t in group[1:])} do not fit one otio track with "
                                 "dissolves (overlaps other than linear crossfades between neighbours); "
                                 "exported as separate tracks")
        # Separate tracks: a companion still names its partner in its extra data.
        return [(track.kind, position[track.id], self._otio_track([track], position)[0]) for track in group]

    def _reimports_as(self, merged: otio.schema.Track, group: list[Track]) -> bool:
        importer = _Importer(otio.schema.Timeline(), self.rate, self.base_dir, base=self.project)
        return [track for track, _ in importer.track(merged)] == list(group) and not importer.warnings

    def _otio_track(self, lanes: list[Track], position: dict[str, int]) -> tuple[otio.schema.Track | None, set[str]]:
        """One otio track holding the items of `lanes`; overlaps become dissolves. None when the
        overlaps are not simple linear crossfades between neighbours."""
        items = sorted((item for track in lanes for item in track.items if not isinstance(item, Title)),
                       key=lambda item: item.start)
        plan = plan_dissolves(items)
        if plan is None:
            return None, set()
        visible, dissolves = plan
        root = lanes[0]
        hidden = root.muted if root.kind == "audio" else root.hidden
        meta = {"kind": root.kind, "lanes": [self._track_meta(track, position[track.id]) for track in lanes]}
        otio_track = otio.schema.Track(name=root.name, kind=otio.schema.TrackKind.Audio if root.kind == "audio"
                                       else otio.schema.TrackKind.Video, metadata={METADATA_KEY: meta})
        otio_track.enabled = not hidden
        at = 0
        for i, item in enumerate(items):
            start, stop = visible[i]
            if start > at:
                otio_track.append(otio.schema.Gap(source_range=_time_range(0, start - at, self.rate)))
            otio_track.append(self._clip(item, start, stop))
            if len(lanes) == 1 and i not in dissolves and i + 1 < len(items):
                cut = cut_transition_to_otio(lanes[0], items[i + 1], self.rate)
                if cut is not None:
                    otio_track.append(cut)
            if i in dissolves:
                lead, tail = dissolves[i]
                otio_track.append(otio.schema.Transition(
                    name="Cross Dissolve", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=_time(lead, self.rate), out_offset=_time(tail, self.rate)))
            at = stop
        crossfaded = {items[i].id for i in dissolves} | {items[i + 1].id for i in dissolves}
        return otio_track, crossfaded

    @staticmethod
    def _track_meta(track: Track, index: int) -> dict:
        return {"id": track.id, "kind": track.kind, "name": track.name, "muted": track.muted,
                "locked": track.locked, "hidden": track.hidden, "extra": _jsonable(track.extra), "index": index}

    def _clip(self, item: Item, start: int, stop: int) -> otio.schema.Clip:
        """The visible part [start, stop) of an item as an otio clip with all of it in its metadata."""
        meta = {METADATA_KEY: _jsonable(serialize.item_to_dict(item))}
        offset, length = start - item.start, stop - start
        if isinstance(item, TextBlock):
            reference = otio.schema.GeneratorReference(
                name="prompt", generator_kind=PROMPT_GENERATOR,
                parameters={"text": item.text, "negative": item.negative})
            name = item.text if len(item.text) <= 64 else item.text[:63] + "…"
            return otio.schema.Clip(name=name, media_reference=reference,
                                    source_range=_time_range(0, length, self.rate), metadata=meta)
        media = self.project.media.get(item.media_id)
        if media is None:
            self.warnings.append(f"item '{item.name or item.id}' at {self.rate.timecode(item.start)} refers to "
                                 "media missing from the project; exported without media")
            return otio.schema.Clip(name=item.name, media_reference=otio.schema.MissingReference(),
                                    source_range=_time_range(0, length, self.rate), metadata=meta)
        available_start = _fraction_or_zero(media.extra.get(AVAILABLE_START_KEY))
        available = None
        if media.num_frames is not None and media.rate is not None:
            available = otio.opentime.TimeRange(_time(available_start * media.rate.fps, media.rate),
                                                _time(media.num_frames, media.rate))
        reference = otio.schema.ExternalReference(target_url=_path_to_url(media.path), available_range=available)
        if isinstance(item, Still):
            source_range = otio.opentime.TimeRange(_still_source_start(item, self.rate), _time(length, self.rate))
        else:
            source_range = _time_range(available_start * self.rate.fps + item.source_range.start + offset,
                                       length, self.rate)
        return otio.schema.Clip(name=item.name or media.name, media_reference=reference,
                                source_range=source_range, metadata=meta)

    def _marker(self, marker: Marker) -> otio.schema.Marker:
        meta = {"color": marker.color, "extra": _jsonable(marker.extra)}
        return otio.schema.Marker(name=marker.name, color=_otio_color(marker.color), comment=marker.note,
                                  marked_range=_time_range(marker.range.start, marker.range.duration, self.rate),
                                  metadata={METADATA_KEY: meta})


def _still_source_start(still: Still, rate: FrameRate) -> otio.opentime.RationalTime:
    start = still.extra.get(STILL_SOURCE_START_KEY)
    try:
        value, start_rate = float(start["value"]), float(start["rate"])
    except (TypeError, KeyError, ValueError):  # none kept (a still made in Kinora): it starts at 0
        return _time(0, rate)
    return otio.opentime.RationalTime(value, start_rate) if start_rate > 0 else _time(0, rate)


def _fraction_or_zero(text: object) -> Fraction:
    try:
        return Fraction(str(text or 0))
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
