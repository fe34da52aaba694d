"""Frame-accurate decoding on videos whose pictures show their own index."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest

from engine.media.decode import VideoReader, reader_for
from engine.time import FrameRate, round_half_up
from tests.media.conftest import gradient_pictures
from tests.media.media_factory import ffmpeg, index_picture, index_video, read_index, write_video


def test_random_frames_in_both_directions_are_exact(index_mp4):
    rng = np.random.default_rng(1)
    with VideoReader(str(index_mp4), FrameRate(30)) as reader:
        wanted = rng.integers(0, 300, size=60).tolist()
        assert [read_index(reader.rgb(i)) for i in wanted] == wanted
        # Sweep backwards then forwards: every step crosses keyframes in both directions.
        backwards = list(range(299, 230, -1))
        assert [read_index(reader.rgb(i)) for i in backwards] == backwards
        forwards = list(range(100, 170))
        assert [read_index(reader.rgb(i)) for i in forwards] == forwards


def test_frames_past_the_end_hold_the_last_picture(index_mp4):
    with VideoReader(str(index_mp4), FrameRate(30)) as reader:
        assert read_index(reader.rgb(10_000)) == 299
        assert read_index(reader.rgb(299)) == 299
        assert read_index(reader.rgb(0)) == 0


def test_other_project_rates_map_by_time_with_round_half_up(index_mp4):
    # At 24 fps, project frame n is at n/24 s: the 30 fps picture starting at or before it.
    with VideoReader(str(index_mp4), FrameRate(24)) as reader:
        for n in [0, 1, 2, 3, 4, 5, 47, 48, 199, 120, 7]:
            starts = [round_half_up(Fraction(k, 30) * 24) for k in range(300)]
            expected = max(k for k in range(300) if starts[k] <= n)
            assert read_index(reader.rgb(n)) == expected
    with VideoReader(str(index_mp4), FrameRate(60)) as reader:
        assert [read_index(reader.rgb(n)) for n in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_variable_frame_rate_is_mapped_by_timestamps(vfr_mp4):
    path, pts_ms = vfr_mp4
    starts = [round_half_up(Fraction(p, 1000) * 30) for p in pts_ms]
    with VideoReader(str(path), FrameRate(30)) as reader:
        for n in list(range(0, starts[-1] + 3)) + list(range(starts[-1], -1, -3)):
            shown = [k for k in range(len(starts)) if starts[k] <= n]
            assert read_index(reader.rgb(n)) == max(shown), n


def test_stepping_back_uses_the_cache_not_the_decoder(index_mp4):
    with VideoReader(str(index_mp4), FrameRate(30)) as reader:
        seeks = []
        seek = reader._seek_to
        reader._seek_to = lambda *args, **kwargs: (seeks.append(args), seek(*args, **kwargs))
        assert read_index(reader.rgb(150)) == 150
        assert len(seeks) == 1
        # Back to the keyframe at 120: at most one more seek, which caches the whole run-up.
        for n in range(149, 119, -1):
            assert read_index(reader.rgb(n)) == n
        assert len(seeks) <= 2
        assert read_index(reader.rgb(151)) == 151  # forward again: from the cache or one decode


def test_rotated_phone_video_matches_ffmpeg_autorotate(media_dir):
    path = media_dir / "phone.mp4"
    pictures = gradient_pictures(6, 96, 64)
    for picture in pictures:
        picture[:8, :16] = (255, 0, 0)  # a marker in the stored top-left corner
    write_video(path, pictures, rotation=90, options={"crf": "0", "preset": "ultrafast"}, pix_fmt="yuv444p")
    with VideoReader(str(path), FrameRate(30)) as reader:
        assert reader.rotation == 90 and reader.size == (64, 96)
        ours = reader.rgb(2)
    assert ours.shape == (96, 64, 3)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", "select=eq(n\\,2)", "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(96, 64, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 3


def test_ten_bit_hevc_decodes_with_precision(media_dir):
    path = media_dir / "hevc10.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=128x72:rate=25:duration=1", "-c:v", "libx265", "-pix_fmt",
           "yuv420p10le", "-x265-params", "log-level=error:lossless=1", path)
    with VideoReader(str(path), FrameRate(25)) as reader:
        assert reader.bit_depth == 10
        as_float = reader.float_rgb(12)
        as_bytes = reader.rgb(12)
    assert as_float.dtype == np.float32 and as_float.shape == (72, 128, 3)
    assert np.abs(as_float * 255 - as_bytes).max() < 4.0  # same picture, rounding apart


def test_ten_bit_gradient_keeps_more_than_eight_bits_of_levels(media_dir):
    path = media_dir / "gradient10.mkv"
    ramp = np.linspace(0.25, 0.5, 512)  # a quarter of the range: 64 steps in 8 bits, 256 in 10
    picture = (np.broadcast_to(ramp[None, :, None], (32, 512, 3)) * 65535).astype(np.uint16)
    write_video(path, [picture] * 2, codec="libx265", pix_fmt="yuv444p10le", input_format="rgb48le",
                options={"x265-params": "log-level=error:lossless=1"})
    with VideoReader(str(path), FrameRate(30)) as reader:
        levels_float = len(np.unique(np.round(reader.float_rgb(0)[16, :, 1] * 4095)))
        levels_bytes = len(np.unique(reader.rgb(0)[16, :, 1]))
    assert levels_bytes <= 70
    assert levels_float > 2 * levels_bytes


def test_prores_4444_keeps_alpha(media_dir):
    path = media_dir / "alpha.mov"
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 32:, 3] = 255  # right half opaque, left half transparent
    write_video(path, [rgba] * 3, codec="prores_ks", pix_fmt="yuva444p10le", input_format="rgba",
                options={"profile": "4"})
    with VideoReader(str(path), FrameRate(30)) as reader:
        assert reader.has_alpha
        out = reader.rgba(1)
    assert out[:, :30, 3].max() <= 2 and out[:, 34:, 3].min() >= 253
    assert abs(int(out[10, 50, 0]) - 200) <= 3


def test_odd_sized_video(media_dir):
    path = media_dir / "odd.mkv"
    index_video(path, 20, width=853, height=480, codec="libx264", pix_fmt="yuv444p")
    with VideoReader(str(path), FrameRate(30)) as reader:
        assert reader.size == (853, 480)
        assert reader.rgb(13).shape == (480, 853, 3)
        assert read_index(reader.rgb(13)) == 13


def test_each_thread_gets_its_own_reader(index_mp4):
    import threading

    readers = {}

    def grab(name):
        readers[name] = reader_for(str(index_mp4), FrameRate(30))
        assert read_index(readers[name].rgb(77)) == 77

    threads = [threading.Thread(target=grab, args=(n,)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert readers["a"] is not readers["b"]
    assert reader_for(str(index_mp4), FrameRate(30)) is reader_for(str(index_mp4), FrameRate(30))


@pytest.mark.parametrize("codec,pix_fmt,suffix", [("libvpx-vp9", "yuv420p", "webm"), ("libx265", "yuv420p", "mp4")])
def test_other_codecs_are_frame_accurate(media_dir, codec, pix_fmt, suffix):
    path = media_dir / f"index_{codec}.{suffix}"
    options = {"x265-params": "log-level=error:keyint=24"} if codec == "libx265" else {"g": "24"}
    write_video(path, [index_picture(i, 128, 64) for i in range(72)], codec=codec, pix_fmt=pix_fmt, options=options)
    rng = np.random.default_rng(3)
    wanted = rng.integers(0, 72, size=20).tolist()
    with VideoReader(str(path), FrameRate(30)) as reader:
        assert [read_index(reader.rgb(i)) for i in wanted] == wanted


def _ffmpeg_rgb(path, width, height, *filters) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), *filters, "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)[0]


def test_full_range_video_is_read_as_full_range(media_dir):
    path = media_dir / "fullrange.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.2", "-vf", "scale=out_range=full",
           "-pix_fmt", "yuvj444p", "-color_range", "pc", "-c:v", "libx264", "-qp", "0", path)
    with VideoReader(str(path), FrameRate(25)) as reader:
        assert reader.full_range
        ours = reader.rgb(0)
    theirs = _ffmpeg_rgb(path, 160, 96)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 3
    assert ours.max() == 255 and ours.min() == 0  # limited-range reading would clip or lift these


def test_untagged_hd_is_read_as_bt709_and_sd_as_bt601(media_dir):
    picture = np.zeros((720, 1280, 3), np.uint8)
    picture[:, :640] = (230, 40, 40)  # saturated colours: BT.601 and BT.709 disagree by tens of levels
    picture[:, 640:] = (40, 60, 230)
    hd_untagged, hd_tagged = media_dir / "hd_untagged.mkv", media_dir / "hd_709.mkv"
    write_video(hd_untagged, [picture], options={"qp": "0"})
    ffmpeg("-i", hd_untagged, "-c", "copy", "-bsf:v", "h264_metadata=matrix_coefficients=1", hd_tagged)
    with VideoReader(str(hd_untagged), FrameRate(30)) as untagged, VideoReader(str(hd_tagged), FrameRate(30)) as tagged:
        assert untagged.colorspace == tagged.colorspace == 1
        assert np.array_equal(untagged.rgb(0), tagged.rgb(0))
        as_601 = untagged.decoded(0).to_ndarray(format="rgb24", src_colorspace="ITU601")
        assert np.abs(as_601.astype(int) - untagged.rgb(0).astype(int)).max() > 10  # the choice matters
        assert np.abs(untagged.rgb(0).astype(int) - _ffmpeg_rgb(hd_tagged, 1280, 720).astype(int)).max() <= 2
    sd = media_dir / "sd_untagged.mkv"
    write_video(sd, [picture[::2, ::2].copy()], options={"qp": "0"})
    with VideoReader(str(sd), FrameRate(30)) as reader:
        assert reader.colorspace == 5
        assert np.abs(reader.rgb(0).astype(int) - _ffmpeg_rgb(sd, 640, 360).astype(int)).max() <= 2


def test_a_small_cache_evicts_but_stays_exact(index_mp4):
    picture_bytes = 160 * 96 * 3 // 2
    with VideoReader(str(index_mp4), FrameRate(30), cache_bytes=5 * picture_bytes) as reader:
        rng = np.random.default_rng(11)
        wanted = rng.integers(0, 300, size=40).tolist() + list(range(200, 180, -1))
        assert [read_index(reader.rgb(i)) for i in wanted] == wanted
        assert len(reader._pictures) <= 6 and reader._used_bytes <= 6 * picture_bytes


def test_sequential_play_keeps_few_pictures_and_stepping_back_stays_exact(index_mp4):
    with VideoReader(str(index_mp4), FrameRate(30)) as reader:
        assert [read_index(reader.rgb(i)) for i in range(0, 130)] == list(range(130))
        assert len(reader._pictures) <= 4  # play does not fill the cache
        assert [read_index(reader.rgb(i)) for i in range(129, 100, -1)] == list(range(129, 100, -1))


@pytest.mark.parametrize("rate", [24, 30, 60])
def test_random_walk_of_seeks_and_steps_at_other_rates(index_mp4, rate):
    """Jumps, single steps both ways and short hops, mixed, on a 30 fps file read at `rate`:
    the case where two pictures start in one project frame and the cache must keep the later."""
    starts = [round_half_up(Fraction(k, 30) * rate) for k in range(300)]
    last = starts[-1] + 3
    rng = np.random.default_rng(100 + rate)  # this walk met the bug where an earlier picture replaced a later one
    n, wanted, got = 0, [], []
    with VideoReader(str(index_mp4), FrameRate(rate)) as reader:
        for _ in range(250):
            move = rng.random()
            if move < 0.3:
                n = int(rng.integers(0, last))
            elif move < 0.6:
                n = max(0, n - 1)
            elif move < 0.9:
                n = min(last, n + 1)
            else:
                n = int(np.clip(n + rng.integers(-12, 12), 0, last))
            wanted.append(max(k for k in range(300) if starts[k] <= n))
            got.append(read_index(reader.rgb(n)))
    assert got == wanted
