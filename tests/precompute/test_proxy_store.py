"""The proxy frame store (issue 17): short-GOP H.264 with an index, read like the raw store,
decoded ahead along the path play draws ahead of time, refused when tampered with."""
import json

import numpy as np
import pytest

from engine.commands.info import describe
from engine.playback import Playback, PlaybackConfig
from engine.render import make_compositor
from engine.texture import VideoTexture
from precompute import analyze_clip
from precompute.bundle import load_analysis
from precompute.config import AnalysisConfig
from precompute.errors import AnalysisError
from precompute.frame_store import ProxyFrames
from tests.synthetic import cycle_frames, tamper, write_video


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    """One clip (a 12-frame cycle repeated, 64x48) analysed with each store."""
    root = tmp_path_factory.mktemp("proxy")
    clip = write_video(cycle_frames(period=12, repeats=8, height=48, width=64), root / "cycle.mp4")
    raw = analyze_clip(clip, AnalysisConfig(store="raw"), out=root / "raw", progress=False)
    proxy = analyze_clip(clip, AnalysisConfig(store="proxy"), out=root / "proxy", progress=False)
    return raw, proxy


def test_proxy_gives_the_raw_store_frames_within_codec_tolerance(analyses):
    raw, proxy = analyses
    assert raw.store_kind == "raw" and proxy.store_kind == "proxy"
    assert isinstance(proxy.frames, ProxyFrames) and proxy.frames.shape == raw.frames.shape
    want = np.asarray(raw.frames).astype(int)
    got = np.asarray(proxy.frames).astype(int)
    error = np.abs(got - want)
    psnr = 10 * np.log10(255.0 ** 2 / np.mean(error ** 2.0))
    assert psnr > 35 and error.mean() < 3, (psnr, error.mean())  # CRF 18 on fine texture
    # the same features, so the same analysis: the store is only what play shows
    for key in ("link_offsets", "link_targets", "loop_sources"):
        np.testing.assert_array_equal(raw.arrays[key], proxy.arrays[key])
    # random access (seeks to key frames, decodes continued) gives what a sequential read gives
    order = np.random.default_rng(5).permutation(proxy.n_frames)[:40]
    sequential = np.asarray(proxy.frames)
    fresh = load_analysis(proxy.path)
    for index in order:
        np.testing.assert_array_equal(fresh.frames[int(index)], sequential[index])
    np.testing.assert_array_equal(fresh.frames[5:9], sequential[5:9])
    assert proxy.store_bytes < raw.store_bytes / 5


def test_random_access_along_a_sampled_path_is_served_from_the_read_ahead(analyses):
    _, proxy = analyses
    analysis = load_analysis(proxy.path)  # a fresh cache
    frames = analysis.frames
    texture = VideoTexture.from_analysis(analysis)
    playback = Playback(texture, PlaybackConfig(seed=3, fade_frames=4))
    compositor = make_compositor(texture.frames)
    ahead = 150  # 5 s: a few jumps
    foreseen = playback.upcoming(ahead)
    frames.prefetch(playback.upcoming_sources(ahead))
    assert frames.wait_prefetched(timeout=60)
    played = []
    for _ in range(ahead):
        played.append(playback.current_frame)
        compositor.compose(playback.current_blend())
        playback.step()
    assert played == foreseen  # the path drawn ahead of time is the path play takes
    assert sum(b != a + 1 for a, b in zip(played, played[1:])) >= 2, "the path should jump"
    assert frames.misses == 0 and frames.hits >= ahead


def test_looking_ahead_does_not_change_play():
    frames = cycle_frames(period=10, repeats=6)
    offsets = np.arange(len(frames) + 1) * 2
    targets = np.stack([np.arange(1, len(frames) + 1) % len(frames),
                        (np.arange(len(frames)) + 25) % len(frames)], 1).reshape(-1)
    texture = VideoTexture.from_arrays(frames, link_offsets=offsets, link_targets=targets,
                                       link_future_costs=np.tile([0.0, 0.1], len(frames)), fps=30)
    plain, looking = Playback(texture), Playback(texture)
    for step in range(300):
        looking.upcoming(1 + step % 45)
        if step == 150:  # a setting changed mid-way: what was foreseen is drawn again
            plain.set_variety(3.0)
            looking.set_variety(3.0)
        plain.step()
        looking.step()
        assert plain.current_frame == looking.current_frame


def test_a_tampered_proxy_is_refused(analyses, tmp_path):
    import shutil

    _, proxy = analyses
    copy = tmp_path / "copy"
    shutil.copytree(proxy.path, copy)
    assert load_analysis(copy).store_kind == "proxy"
    tamper(copy / "frames.proxy", mask=0x40)
    with pytest.raises(AnalysisError, match="frames.proxy does not match its recorded hash"):
        load_analysis(copy)
    # a manifest that calls the proxy a raw store is refused too
    shutil.copyfile(proxy.path / "frames.proxy", copy / "frames.proxy")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["store"]["kind"] = "raw"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match="store.file|files"):
        load_analysis(copy)


def test_info_says_which_store_and_its_size(analyses, capsys):
    raw, proxy = analyses
    assert describe(raw)["store"] == {"kind": "raw", "bytes": raw.store_bytes}
    described = describe(proxy)["store"]
    assert described["kind"] == "proxy" and described["gop"] == 8
    assert described["bytes"] == (proxy.path / "frames.proxy").stat().st_size
    from engine.cli import main

    assert main(["info", str(proxy.path)]) == 0
    assert "store     proxy, h264 with a key frame every 8 frames" in capsys.readouterr().out


def test_format_2_analyses_still_load_and_newer_ones_are_refused(analyses, tmp_path):
    import shutil

    raw, _ = analyses
    old = tmp_path / "old"
    shutil.copytree(raw.path, old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["format_version"] = 2  # before issue 17: no store kind, always frames.u8
    for key in ("kind", "bytes"):
        manifest["store"].pop(key)
    (old / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_analysis(old)
    assert loaded.store_kind == "raw" and np.array_equal(loaded.frames[3], raw.frames[3])
    manifest["format_version"] = 4
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match="format version 4"):
        load_analysis(old)
