"""Generated bridges (precompute.bridges): jump choice, the chain with bridge states, storage."""
import json

import numpy as np
import pytest

from precompute import bridges, generative
from precompute.errors import AnalysisError
from tests.generative._disc import disc_frame
from tests.synthetic import tamper

TINY = generative.GenerativeConfig(width=32, channels=8, steps=4, batch_size=2, crop=32, max_gap=4,
                                   device="cpu")


def _csr(rows):
    """rows: list of [(target, probability), ...] -> offsets, targets, probabilities."""
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    targets = np.array([t for r in rows for t, _ in r], np.int32)
    probabilities = np.array([p for r in rows for _, p in r], np.float32)
    return offsets, targets, probabilities


def test_select_jumps_takes_the_likeliest_per_frame_then_loops():
    rows = [[(1, 0.5), (5, 0.3), (7, 0.2)],  # frame 0: jumps to 5 and 7
            [(2, 1.0)],
            [(3, 0.6), (0, 0.39), (6, 0.01)],  # frame 2: jump to 0; 6 is below min_probability
            [(4, 1.0)], [(5, 1.0)], [(6, 1.0)], [(7, 1.0)], [(0, 1.0)]]  # 7 -> 0 is a jump
    offsets, targets, probabilities = _csr(rows)
    config = bridges.BridgeConfig(links_per_frame=1, min_probability=0.02, loop_jumps=2)
    sources, chosen = bridges.select_jumps(offsets, targets, probabilities, np.array([7, 6], np.int32),
                                           np.array([0, 2], np.int32), config=config)
    # likeliest first: 7 -> 0 (1.0), 2 -> 0 (0.39), 0 -> 5 (0.3); then loop 6 -> 2 (7 -> 0 is a duplicate)
    assert list(zip(sources.tolist(), chosen.tolist())) == [(7, 0), (2, 0), (0, 5), (6, 2)]
    assert sources.dtype == np.int32 and chosen.dtype == np.int32


def test_bridge_plan_clips_at_the_end_and_respects_the_store_cap():
    sources, targets, exits, offsets = bridges.bridge_plan(
        np.array([10, 3, 8]), np.array([2, 8, 9]), n_frames=10, frames_per_bridge=4, frame_bytes=100,
        max_store_bytes=10_000)
    # 3 -> 8 has room for 1 frame (exit 9); 8 -> 9 lands on the last frame: no bridge
    assert sources.tolist() == [10, 3] and exits.tolist() == [6, 9] and offsets.tolist() == [0, 4, 5]
    _, _, _, offsets = bridges.bridge_plan(np.array([0, 1]), np.array([2, 3]), n_frames=10,
                                           frames_per_bridge=4, frame_bytes=100, max_store_bytes=500)
    assert offsets.tolist() == [0, 4]  # the second bridge would exceed 500 bytes


def test_extended_links_route_jumps_through_the_bridge_states():
    rows = [[(1, 0.6), (4, 0.4)], [(2, 1.0)], [(3, 1.0)], [(4, 1.0)], [(5, 1.0)], [(6, 1.0)],
            [(7, 1.0)], [(0, 1.0)]]
    offsets, targets, probabilities = _csr(rows)
    costs = np.arange(len(targets), dtype=np.float32)
    links = bridges.extend_links(offsets, targets, costs, costs, probabilities,
                                 sources=np.array([0, 5], np.int32), targets=np.array([4, 2], np.int32),
                                 exits=np.array([6, 4], np.int32), offsets=np.array([0, 2, 4]))
    n_states = 8 + 4
    assert links["link_offsets"].shape == (n_states + 1,)
    assert np.all(np.diff(links["link_offsets"]) >= 1)  # every state has a way on: play never stops
    out = lambda s: links["link_targets"][links["link_offsets"][s]:links["link_offsets"][s + 1]].tolist()
    assert out(0) == [1, 8]  # 0 -> 4 now enters bridge 0
    assert out(8) == [9] and out(9) == [6]  # through its two frames to the exit 4 + 2
    assert out(10) == [11] and out(11) == [4]  # bridge 1 (5 -> 2 is not a link): states only
    assert out(5) == [6]
    assert links["link_probabilities"][1] == pytest.approx(0.4)  # the jump keeps its probability
    assert links["link_bridges"].tolist()[:2] == [-1, 0]
    assert targets[1] == 4  # the input was not modified


def _bridges_table(n_frames=10):
    links = bridges.extend_links(*_csr([[(i + 1, 1.0)] for i in range(n_frames - 1)] + [[(0, 1.0)]])[:2],
                                 np.zeros(n_frames, np.float32), np.zeros(n_frames, np.float32),
                                 np.ones(n_frames, np.float32), sources=np.array([7], np.int32),
                                 targets=np.array([2], np.int32), exits=np.array([4], np.int32),
                                 offsets=np.array([0, 2]))
    return bridges.Bridges(path=None, n_frames=n_frames, frames=np.zeros((2, 4, 4, 3), np.uint8),
                           sources=np.array([7], np.int32), targets=np.array([2], np.int32),
                           exits=np.array([4], np.int32), offsets=np.array([0, 2]), links=links)


def test_expand_path_keeps_the_length_and_lands_on_time():
    table = _bridges_table()
    path = np.array([5, 6, 7, 2, 3, 4, 5])
    assert table.expand_path(path).tolist() == [5, 6, 7, 10, 11, 4, 5]
    assert path.tolist() == [5, 6, 7, 2, 3, 4, 5]  # not modified
    assert table.expand_path([6, 7, 2, 8]).tolist() == [6, 7, 2, 8]  # leaves early: bare jump kept
    # an exported loop 2..7 wraps 7 -> 2 as a jump
    assert table.expand_path([2, 3, 4, 5, 6, 7], cyclic=True).tolist() == [10, 11, 4, 5, 6, 7]


def test_generated_states_are_described_for_the_play_log():
    table = _bridges_table()
    assert table.describe(11) == {"bridge": [7, 4], "step": 2, "of": 2, "store_index": 11}
    (i, wi), (j, wj) = table.blend_of(11)
    assert (i, j) == (7, 4) and wi == pytest.approx(1 / 3) and wj == pytest.approx(2 / 3)
    assert table.blend_of(3) == [(3, 1.0)]
    # bridges made between the streams (format 2): frame n of jump 7 -> 2 is between 7 + n and 2 - 1 + n
    import dataclasses

    streams = dataclasses.replace(table, manifest={"endpoints": "streams"})
    (i, wi), (j, wj) = streams.blend_of(11)
    assert (i, j) == (min(9, table.n_frames - 1), 3) and wj == pytest.approx(2 / 3)
    # format 3: made at the fade's times, frame 2 of 2 at t = 3/4
    faded = dataclasses.replace(table, manifest={"endpoints": "streams", "times": bridges.TIMES})
    (i, wi), (j, wj) = faded.blend_of(11)
    assert (i, j) == (min(9, table.n_frames - 1), 3) and wi == pytest.approx(1 / 4) and wj == pytest.approx(3 / 4)


@pytest.mark.parametrize("length", [2, 4, 6])
def test_bridge_times_are_the_crossfades_weights_at_the_frames_it_replaces(length):
    """A bridge of K frames is the fade of the same two streams with the model's frames in place
    of the blends: its times are the new stream's weights in a centred K-frame crossfade (K even:
    the fade blends K frames), as near each real end, 1/(2K), as the fade's first and last."""
    from engine.transitions import blend_schedule

    path = np.concatenate([np.arange(1, 11), np.arange(50, 70)])  # a jump 10 -> 50
    fade = blend_schedule(path, fade_frames=length, n_frames=100)
    new_stream = [weight for blend in fade if len(blend) == 2 for frame, weight in blend if frame >= 40]
    times = bridges.bridge_times(length)
    np.testing.assert_allclose(times, new_stream)
    assert times[0] == pytest.approx(1 / (2 * length)) and times[-1] == pytest.approx(1 - 1 / (2 * length))


@pytest.mark.parametrize("model_size", [(48, 64), (96, 128)])
def test_bridge_frames_near_the_real_ends_keep_less_of_the_model_than_the_middle(model_size):
    """A bridge frame is the morph plus model_share(t) = 4 t (1 - t) of the model's difference
    from it: the middle frames keep most of the model, the first and last (t = 1/8, 7/8) least,
    so they stay near the real ends as the fade's do. Two flat models 72 levels apart give frames
    72 x share apart (both are convex mixes of the morph and the flat frame: no clipping), at a
    model size below display size and at display size."""
    size = dict(height=96, width=128)
    a, b = disc_frame(10.0, **size), disc_frame(12.0, **size)
    small = generative.resize_frames(np.stack([a, b]), model_size)
    flows = generative._flow_pair(small[0], small[1], "dis")
    times = bridges.bridge_times(4)
    flat = lambda level: np.full((4,) + model_size + (3,), level, np.uint8)  # noqa: E731
    apart = [np.mean(high.astype(float) - low.astype(float)) for high, low in
             zip(bridges.upsample_guided(flat(200), a, b, times, flows),
                 bridges.upsample_guided(flat(128), a, b, times, flows))]
    np.testing.assert_allclose(bridges.model_share(times), [7 / 16, 15 / 16, 15 / 16, 7 / 16])
    np.testing.assert_allclose(apart, 72 * bridges.model_share(times), atol=1.0)


def test_guided_upsampling_restores_detail_the_model_size_lacks():
    """If the model's frame were the exact small in-between, the guided upsample should be much
    closer to the true full-size frame than a plain resize of it."""
    import cv2

    size = dict(height=96, width=128)
    a, b, truth = disc_frame(10.0, **size), disc_frame(12.0, **size), disc_frame(11.0, **size)
    small = generative.resize_frames(np.stack([a, b, truth]), (48, 64))
    flows = generative._flow_pair(small[0], small[1], "dis")
    guided = bridges.upsample_guided(small[2:3], a, b, [0.5], flows)[0]
    plain = cv2.resize(small[2], (128, 96), interpolation=cv2.INTER_LINEAR)
    error = lambda x: np.sqrt(np.mean((x.astype(float) - truth.astype(float)) ** 2))
    assert guided.shape == truth.shape
    assert error(guided) < 0.8 * error(plain)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from precompute import AnalysisConfig, analyze_clip
    from tests.synthetic import pendulum_frames, write_image_folder

    frames, _ = pendulum_frames(period=16, periods=3)
    folder = write_image_folder(frames, tmp_path_factory.mktemp("clip") / "pendulum")
    return analyze_clip(folder, AnalysisConfig(), out=tmp_path_factory.mktemp("an") / "pendulum.fc",
                        progress=False)


@pytest.fixture(scope="module")
def built(analysed):
    return bridges.build_bridges(analysed, config=bridges.BridgeConfig(frames_per_bridge=3),
                                 model_config=TINY, progress=False)


def test_built_bridges_round_trip_and_cover_the_jumps(analysed, built):
    assert bridges.load_bridges(analysed) is not None
    assert built.n_bridges > 0 and built.frames.shape[1:] == analysed.frames.shape[1:]
    assert built.n_states == analysed.n_frames + int(built.offsets[-1])
    lengths = np.diff(built.offsets)
    assert np.array_equal(built.exits, built.targets + lengths)
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format"] == bridges.FORMAT and manifest["stats"]["bridges"] == built.n_bridges
    assert generative.load_model(built.path).config == TINY


def test_play_through_bridge_states_never_stops_and_logs_generated_frames(analysed, built, tmp_path):
    from engine.export import write_play_log
    from engine.playback import Playback, PlaybackConfig
    from engine.texture import VideoTexture

    texture = VideoTexture.from_arrays(np.concatenate([np.asarray(analysed.frames), built.frames]),
                                       fps=analysed.fps, **built.texture_arrays())
    playback = Playback(texture, PlaybackConfig(seed=3, fade_frames=0))
    states = []
    for _ in range(600):
        states.append(playback.current_frame)
        playback.step(1)
    states = np.array(states)
    assert len(states) == 600 and states.min() >= 0 and states.max() < built.n_states
    generated = [s for s in states if built.is_generated(s)]
    assert generated, "random play never took a bridged jump"
    # every generated run goes g1 .. gK and then to its exit
    for position in np.flatnonzero(states >= analysed.n_frames)[:50]:
        info = built.describe(states[position])
        if info["step"] == info["of"] and position + 1 < len(states):
            assert states[position + 1] == info["bridge"][1]
    blends = [built.blend_of(s) for s in states]
    log_path = write_play_log(tmp_path / "play.json", blends, source="pendulum", fps=analysed.fps,
                              generated={k: built.describe(s) for k, s in enumerate(states)
                                         if built.is_generated(s)})
    log = json.loads(log_path.read_text())
    assert all(max(index for index, _ in entry) < analysed.n_frames for entry in log["frames"])
    first = int(np.flatnonzero(states >= analysed.n_frames)[0])
    assert log["generated"][str(first)]["store_index"] == int(states[first])


def test_tampered_or_foreign_bridges_are_refused(analysed, built, tmp_path):
    import shutil

    copy = tmp_path / "bridges"
    shutil.copytree(built.path, copy)
    tamper(copy / "frames.u8", at=0)
    with pytest.raises(AnalysisError, match="frames.u8 does not match"):
        bridges.load_bridges(analysed, folder=copy)
    manifest = json.loads((built.path / "manifest.json").read_text())
    manifest["analysis"]["analysis_sha256"] = "0" * 64
    other = tmp_path / "other"
    shutil.copytree(built.path, other)
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match="another analysis"):
        bridges.load_bridges(analysed, folder=other)


def test_no_bridges_means_none_and_a_message(tmp_path):
    class Bare:
        path = tmp_path
        n_frames = 10
    assert bridges.load_bridges(Bare()) is None
    assert "framechain bridges" in bridges.bridges_message(Bare())


def test_exported_loop_with_generated_bridges_round_trips(analysed, built, tmp_path):
    from engine.export import ExportConfig, export_loop
    from precompute.video_io import decode_clip

    log = tmp_path / "loop.json"
    result = export_loop(analysed, tmp_path / "loop.png", seconds=16 / analysed.fps, progress=False,
                         log=log, config=ExportConfig(transitions="generated"))
    assert result.generated, f"the loop's jumps were not bridged: {result.notes}"
    decoded, _ = decode_clip(tmp_path / "loop.png")
    assert decoded.shape[0] == result.frames == result.loop.length  # a bridge keeps the length
    for position, state in result.generated.items():
        np.testing.assert_array_equal(decoded[position], built.frame(state))
    data = json.loads(log.read_text())
    assert {int(k) for k in data["generated"]} == set(result.generated)
    for key, info in data["generated"].items():
        assert info == built.describe(info["store_index"])
        (outgoing, _), (incoming, t) = data["frames"][int(key)]
        # the blend of the two streams the frame was made between: i + n and j - 1 + n
        i, exit_ = info["bridge"]
        n, k = info["step"], info["of"]
        assert (outgoing, incoming) == (min(i + n, analysed.n_frames - 1), exit_ - k - 1 + n)
        assert t == pytest.approx((n - 0.5) / k, abs=1e-5)  # bridge_times (the log rounds weights)
    assert all(0 <= i < analysed.n_frames for entry in data["frames"] for i, _ in entry)


def test_play_command_uses_the_bridges_and_logs_them(analysed, built, tmp_path):
    from engine.cli import main

    log = tmp_path / "play.json"
    assert main(["play", str(analysed.path), "--headless", "--frames", "400", "--seed", "1",
                 "--transitions", "generated", "--log", str(log)]) == 0
    data = json.loads(log.read_text())
    assert len(data["frames"]) == 400 and data["generated"], "no bridge was played"
    for entry in data["frames"]:  # only real frames appear, weights sum to 1
        assert max(index for index, _ in entry) < analysed.n_frames
        assert abs(sum(weight for _, weight in entry) - 1) < 1e-6
    for position, info in data["generated"].items():  # the entry is the blend of its two streams
        i, exit_ = info["bridge"]
        n, k = info["step"], info["of"]
        assert {index for index, _ in data["frames"][int(position)]} <= {min(i + n, analysed.n_frames - 1),
                                                                          exit_ - k - 1 + n}


def test_play_command_without_bridges_says_so_and_morphs(tmp_path, capsys):
    from engine.cli import main
    from precompute import analyze_clip
    from tests.synthetic import cycle_frames, write_image_folder

    folder = write_image_folder(cycle_frames(period=8, repeats=4), tmp_path / "cycle")
    analysis = analyze_clip(folder, out=tmp_path / "cycle.fc", progress=False)
    assert main(["play", str(analysis.path), "--headless", "--frames", "20",
                 "--transitions", "generated"]) == 0
    assert "no generated bridges" in capsys.readouterr().err


# ----------------------------------------------------------------------------- --transitions auto (issue 13)

def _dominated(row: np.ndarray, chosen: int) -> bool:
    """Some other method is no worse on both measures and better on one."""
    return any(np.all(row[m] <= row[chosen]) and np.any(row[m] < row[chosen]) for m in range(len(row)) if m != chosen)


def test_choice_never_picks_a_method_whose_measures_are_worse():
    from precompute.generative_measures import CHOICES, choose

    rng = np.random.default_rng(0)
    measures = rng.random((500, 4, 2)).astype(np.float32)
    measures[::3, 2] = measures[::3, 3] + 0.1  # many rows where the morph is strictly worse than generated
    chosen = choose(measures)
    assert not any(_dominated(row, c) for row, c in zip(measures, chosen))
    assert set(np.unique(chosen)) == set(range(len(CHOICES)))  # every method can win
    # real frames, one big step / ghost, soft step / nearer-real morph / better generated
    row = np.array([[[0.0, 3.0], [1.0, 1.0], [0.5, 0.8], [0.4, 0.8]]])
    assert CHOICES[choose(row)[0]] == "generated"


def test_built_bridges_store_measures_and_an_undominated_choice(analysed, built):
    from precompute.generative_measures import CHOICES

    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["format_version"] == bridges.FORMAT_VERSION and manifest["choices"] == list(CHOICES)
    assert built.measures.shape == (built.n_bridges, len(CHOICES), 2) and built.choice.shape == (built.n_bridges,)
    assert np.all(np.isfinite(built.measures))
    cut = CHOICES.index("cut")
    assert np.allclose(built.measures[:, cut, 0], 0, atol=1e-3)  # a cut shows real frames only
    assert not any(_dominated(row, c) for row, c in zip(built.measures, built.choice))


def _forced(built, choices):
    import dataclasses

    from precompute.generative_measures import CHOICES

    forced = np.array([CHOICES.index(choices[b % len(choices)]) for b in range(built.n_bridges)], np.int8)
    return dataclasses.replace(built, choice=forced)


def test_export_auto_draws_each_bridged_jump_as_its_choice(analysed, built, monkeypatch):
    from engine import export
    from engine.transitions import blend_schedule

    methods = ("cut", "crossfade", "morph", "generated")
    forced = _forced(built, methods)
    monkeypatch.setattr("precompute.bridges.load_bridges", lambda analysis, folder=None: forced)
    # one path through four bridged jumps, one of each choice, with room for a fade around each
    path, seen = [0, 1, 2, 3, 4, 5], {}
    for b in range(built.n_bridges):
        i, j, k = int(built.sources[b]), int(built.targets[b]), int(np.diff(built.offsets)[b])
        method = methods[b % 4]
        if method in seen or j + k + 6 > analysed.n_frames or i < 3:
            continue
        seen[method] = len(path) + 3  # position of frame i in the path
        path += list(range(i - 3, i + 1)) + list(range(j, j + k + 6))
    assert len(seen) == 4, seen
    path = np.array(path)
    blends = blend_schedule(path, fade_frames=4, n_frames=int(analysed.n_frames))
    blends, generated, _ = export._bridge_path(analysed, path, blends, fade_frames=4, cyclic=False, choose=True)
    states = generated["states"]
    for method, at in seen.items():
        i, j = int(path[at]), int(path[at + 1])
        around = range(at - 1, at + 3)
        if method == "generated":
            assert at + 1 in states and forced.is_generated(states[at + 1])
        elif method == "cut":
            assert all(len(blends[p]) == 1 for p in around) and at + 1 not in states
        else:  # a fade, morphed or not
            assert any(len(blends[p]) == 2 for p in around) and at + 1 not in states
            assert ((i, j) in generated["unmorphed"]) == (method == "crossfade")


def test_play_auto_enters_only_the_bridges_chosen_generated(analysed, built, monkeypatch, tmp_path):
    from engine.cli import main
    from engine.commands.play import _auto_texture
    from engine.texture import VideoTexture

    forced = _forced(built, ("generated", "cut", "crossfade"))
    texture, cuts, unmorphed = _auto_texture(analysed, forced, VideoTexture.from_analysis(analysed))
    entering = np.asarray(forced.links["link_bridges"])
    for link in np.flatnonzero(entering >= 0):
        b = int(entering[link])
        entered = int(texture.link_targets[link]) >= forced.n_frames
        assert entered == (forced.chosen(b) == "generated")
        pair = (int(forced.sources[b]), int(forced.targets[b]))
        assert cuts(*pair) == (forced.chosen(b) == "cut") and (pair in unmorphed) == (forced.chosen(b) == "crossfade")
    assert cuts(0, forced.n_frames) and cuts(forced.n_frames + 1, 5)  # into and out of a bridge: cuts
    monkeypatch.setattr("precompute.bridges.load_bridges", lambda analysis, folder=None: forced)
    log = tmp_path / "auto.json"
    assert main(["play", str(analysed.path), "--headless", "--frames", "300", "--seed", "1",
                 "--transitions", "auto", "--log", str(log)]) == 0
    data = json.loads(log.read_text())
    assert len(data["frames"]) == 300
    for entry in data["frames"]:
        assert max(index for index, _ in entry) < analysed.n_frames
        assert abs(sum(weight for _, weight in entry) - 1) < 1e-6
    for info in data["generated"].values():  # every generated frame shown is of a bridge chosen "generated"
        i, exit_ = info["bridge"]
        candidates = np.flatnonzero((forced.sources == i) & (forced.exits == exit_))
        assert any(forced.chosen(int(b)) == "generated" for b in candidates)
