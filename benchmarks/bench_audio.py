"""Sound that follows the chain (issue 18): seams, A/V offset and what sound costs.

Goals (issue 18):
  1. at jumps and at the loop's wrap, the largest sample-to-sample step and the short-time
     energy dip are within the clip's own natural range (no click, no dropout);
  2. audio/video offset <= 1 frame over a 10-minute headless play and in every export;
  3. sound adds <= 10% to analysis and export time.

Figures:
  0. `../shared/tools/quality.py audio` (the outside measure) on the tone clip it is written for
     (200 + 15 i Hz), exported at random and as loops (`--only outside`);
  1. on the real clips with sound (../shared/clips: traffic, clouds) and on the synthetic tone
     clip: 60 s of random play and the best ~3 s loop (played three times end to end),
     rendered by engine.audio; around every jump and wrap (+-fade), the largest step over the
     clip's largest natural step (<= 1: within its range), and the energy dip (the lowest 5 ms
     RMS within the fade over the median 5 ms RMS of the 200 ms around) against the same dip at
     every frame boundary of the clip itself (worst_dip_over_natural_min >= 1: within its
     range); a hard cut at the same places for comparison;
  2. the tone clip (frame i sounds at 300 + 20 i Hz) played headless for --minutes through
     engine.player.play: per output frame the pitch in its span says which clip frame is heard;
     the offset from the frame shown, in frames (max over the play and over its last minute),
     and the sound's length against the picture's; each export (mp4/webm, loop/random) its
     sound's length against its picture's, in frames;
  3. analyze_clip with and without sound (audio=False) and export with and without sound
     (AudioConfig(enabled=False)), interleaved pairs, medians, on a 20 s 640x360 clip with a
     stereo AAC track of noise, exported as 20 s of random play to mp4. The machine (2 cores) is shared with other helpers' work, so single runs
     swing by +-10%: the figure is the median of paired ratios.

    python -m benchmarks.bench_audio [--minutes 10] [--pairs 5]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._util import save

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "clips"
REAL = ("traffic_trails_bridge_night_640x360.mov", "clouds_timelapse_sign_640x360.mov")


def _steps(sound: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(sound.astype(np.float64), axis=0)).max(axis=1)  # (S-1,) worst channel


def _rms(sound: np.ndarray, window: int = 240) -> np.ndarray:
    """5 ms RMS at 48 kHz, hop 2.5 ms, over both channels."""
    x = sound.astype(np.float64)
    power = np.convolve((x ** 2).mean(axis=1), np.ones(window) / window, mode="valid")
    return np.sqrt(power[::window // 2])


def _dip(sound: np.ndarray, x: int, half: int, rate: int) -> float:
    """The short-time energy dip at output sample x: the lowest 5 ms RMS within the fade over
    the median 5 ms RMS of the 200 ms around it (1: no dip)."""
    around = sound[max(0, x - rate // 10): x + rate // 10]
    near = sound[max(0, x - half): x + half]
    level = np.median(_rms(around))
    return float(_rms(near).min() / level) if level > 0 else 1.0


def seams(analysis, *, seconds: float, fade_ms: float = 50.0) -> dict:
    """Goal 1 on one analysis: random play and the best loop, against the clip's own range:
    the largest step over the clip's largest step, and the energy dip at each jump against the
    same dip measured at every frame boundary of the clip itself (its natural range)."""
    from engine.audio import fade_samples, path_audio
    from engine.export import ExportConfig, choose_loop
    from engine.playback import Playback, PlaybackConfig
    from engine.texture import VideoTexture
    from precompute.bundle import load_audio

    clip = np.asarray(load_audio(analysis).samples)
    rate, fps = load_audio(analysis).rate, analysis.fps
    half = fade_samples(fade_ms, rate) // 2
    natural_step = _steps(clip).max()
    natural_dips = np.array([_dip(clip, int(round(i * rate / fps)), half, rate)
                             for i in range(2, analysis.n_frames - 2)])
    playback = Playback(VideoTexture.from_analysis(analysis), PlaybackConfig(seed=5))
    path = []
    for _ in range(int(seconds * fps)):
        path.append(playback.current_frame)
        playback.step(1)
    out = {"natural_max_step": float(natural_step),
           "natural_dip_min": round(float(natural_dips.min()), 3),
           "natural_dip_p5": round(float(np.percentile(natural_dips, 5)), 3)}
    cases = [("random", np.asarray(path), False)]
    try:
        cases.append(("loop", np.asarray(choose_loop(analysis, seconds=3.0, config=ExportConfig()).frames), True))
    except Exception as error:  # a clip without a loop near 3 s
        out["loop"] = f"no loop: {error}"
    for name, frames, cyclic in cases:
        sound, entries = path_audio(clip, frames, rate=rate, fps_clip=fps, cyclic=cyclic)
        boundaries = [x for x, streams in entries if len(streams) > 1
                      and any(stream[1][0][1] == 0.5 or stream[1][-1][1] == 0.5 for stream in streams)]
        boundaries = sorted(set(boundaries)) or [x for x, streams in entries if len(streams) > 1][:1]
        if cyclic:  # played twice end to end: the wrap and every jump lie in the middle copy
            sound = np.concatenate([sound, sound, sound])
            boundaries = [x + len(sound) // 3 for x in boundaries]
        worst_step = max(_steps(sound[max(0, x - 2 * half): x + 2 * half]).max() for x in boundaries)
        dips = [_dip(sound, x, half, rate) for x in boundaries]
        cut_step = 0.0
        for position in range(1, len(frames)):  # a hard cut: the spans spliced as they are
            if frames[position] != frames[position - 1] + 1:
                a = int(round((frames[position - 1] + 1) * rate / fps)) - 1
                b = int(round(frames[position] * rate / fps))
                if 0 <= a < len(clip) and b < len(clip):
                    cut_step = max(cut_step, float(np.abs(clip[b].astype(float) - clip[a]).max()))
        out[name] = {"frames": int(len(frames)), "jumps_and_wraps": len(boundaries),
                     "max_step_over_natural_max": round(float(worst_step / natural_step), 3),
                     "worst_dip": round(float(min(dips)), 3),
                     "worst_dip_over_natural_min": round(float(min(dips) / natural_dips.min()), 3),
                     "hard_cut_step_over_natural_max": round(cut_step / natural_step, 3)}
    return out


def tone_analysis(root: Path, *, frames: int = 60, fps: int = 30):
    from precompute import analyze_clip
    from tests.synthetic import cycle_frames, pitch_tone, write_clip_with_sound

    clip = write_clip_with_sound(root / "tone.mov", cycle_frames(period=10, repeats=frames // 10),
                                 fps=fps, sound=pitch_tone(frames, fps=fps))
    return analyze_clip(clip, out=root / "tone-ana", progress=False)


def av_offset(analysis, *, minutes: float) -> dict:
    """Goal 2: a long headless play of the tone clip; which frame is heard in each span."""
    from engine.audio import AudioConfig
    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture
    from precompute.bundle import load_audio
    from tests.synthetic import frame_of_pitch, peak_hz

    sound = load_audio(analysis)
    fps = analysis.fps
    count = int(minutes * 60 * fps)
    started = time.perf_counter()
    result = play(VideoTexture.from_analysis(analysis), playback=PlaybackConfig(seed=11),
                  config=PlayerConfig(frames=count, headless=True, keep_log=True, keep_audio=True,
                                      controls=False, audio=AudioConfig()), sound=sound)
    play_s = time.perf_counter() - started
    span = int(round(sound.rate / fps))
    offsets = []
    for n, (blend, (x, streams)) in enumerate(zip(result.frames, result.audio_frames)):
        if len(streams) != 1 or len(blend) != 1:
            continue  # fades: two frames are heard and seen at once
        heard = frame_of_pitch(peak_hz(result.audio[x:x + span], sound.rate))
        offsets.append((n, heard - blend[0][0]))
    offsets = np.asarray(offsets)
    last_minute = offsets[offsets[:, 0] >= count - 60 * fps, 1]
    return {"minutes": minutes, "frames": count, "jumps": result.jumps, "play_s": round(play_s, 1),
            "measured_frames": int(len(offsets)),
            "max_abs_offset_frames": round(float(np.abs(offsets[:, 1]).max()), 3),
            "last_minute_max_abs_offset_frames": round(float(np.abs(last_minute).max()), 3),
            "sound_minus_picture_samples": int(result.audio.shape[0] - round(count * sound.rate / fps))}


def export_offsets(analysis, root: Path) -> dict:
    from engine.export import ExportConfig, export_loop, export_random
    from precompute.video_io import read_audio_stream

    out = {}
    for mode, suffix in (("loop", ".mp4"), ("loop", ".webm"), ("random", ".mp4"), ("random", ".webm")):
        path = root / f"{mode}{suffix}"
        if mode == "loop":
            result = export_loop(analysis, path, seconds=3.0, progress=False)
        else:
            result = export_random(analysis, path, seconds=10.0, progress=False,
                                   config=ExportConfig(seed=3))
        stream = read_audio_stream(path)
        out[f"{mode}{suffix}"] = round((stream["seconds"] - stream["video_seconds"]) * result.fps, 3)
    return out


def _timing_clip(root: Path, seconds: float = 20.0, fps: int = 30) -> Path:
    """20 s of 640x360 (the size of the real clips with sound) drifting texture with a stereo
    AAC track of noise (the costliest sound to encode)."""
    from tests.synthetic import textured_background, write_clip_with_sound

    rng = np.random.default_rng(0)
    count = int(seconds * fps)
    base = textured_background(360, 640, seed=3)
    shift = np.cumsum(rng.normal(0, 1.5, (count, 2)), axis=0)
    frames = np.stack([np.roll(base, (int(dy) % 360, int(dx) % 640), axis=(0, 1))
                       for dy, dx in shift]).astype(np.uint8)  # (T, 360, 640, 3)
    noise = rng.normal(0, 0.2, (int(seconds * 48000), 2)).astype(np.float32)
    return write_clip_with_sound(root / "timing.mp4", frames, fps=fps, sound=noise,
                                 rate=48000, layout="stereo", audio_codec="aac")


def costs(root: Path, *, pairs: int) -> dict:
    from engine.audio import AudioConfig
    from engine.export import ExportConfig, export_random
    from precompute import analyze_clip

    clip = _timing_clip(root)
    analyze_clip(clip, out=root / "warm", progress=False)  # numba compiled, file cached
    times = {"analyze_with": [], "analyze_without": [], "export_with": [], "export_without": [],
             "audio_decode": []}
    cpu = {key: [] for key in times}  # the process's CPU time (all its threads): what the work
    #   costs, less swayed than wall time by other jobs on the shared cores
    for pair in range(pairs):
        for audio in ((True, False) if pair % 2 == 0 else (False, True)):
            started, started_cpu = time.perf_counter(), time.process_time()
            analysis = analyze_clip(clip, out=root / f"ana-{audio}-{pair}", progress=False, audio=audio)
            times["analyze_with" if audio else "analyze_without"].append(time.perf_counter() - started)
            cpu["analyze_with" if audio else "analyze_without"].append(time.process_time() - started_cpu)
            if audio:  # decode_audio's own time, as the analysis records it
                times["audio_decode"].append(analysis.stats["timings"]["audio_s"])
                with_sound = analysis
        for audio in ((True, False) if pair % 2 == 0 else (False, True)):
            started, started_cpu = time.perf_counter(), time.process_time()
            export_random(with_sound, root / f"e-{audio}-{pair}.mp4", seconds=20.0,
                          progress=False, config=ExportConfig(audio=AudioConfig(enabled=audio)))
            times["export_with" if audio else "export_without"].append(time.perf_counter() - started)
            cpu["export_with" if audio else "export_without"].append(time.process_time() - started_cpu)
    ratios = {"analyze_audio_decode_share": round(float(np.median(
        [a / t for a, t in zip(times["audio_decode"], times["analyze_with"])])) * 100, 2)}
    # what the sound alone costs an export, measured by itself (less noisy than the pairs):
    # path_audio and encoding the track alone to AAC, over the export without sound
    from engine.audio import path_audio
    from precompute.bundle import load_audio
    from precompute.video_io import open_writer

    analysis = with_sound
    sound = load_audio(analysis)
    path = np.arange(600) % analysis.n_frames
    alone = []
    for run in range(3):
        started = time.perf_counter()
        samples, _ = path_audio(sound.samples, path, rate=sound.rate, fps_clip=analysis.fps)
        with open_writer(root / f"alone{run}.mp4", fps=analysis.fps, size=(2, 2),
                         audio_rate=sound.rate) as writer:
            writer.write(np.zeros((2, 2, 3), np.uint8))
            writer.write_audio(samples)
        alone.append(time.perf_counter() - started)
    ratios["export_sound_alone_s"] = round(float(np.median(alone)), 3)
    ratios["export_sound_alone_share"] = round(float(np.median(alone) / np.median(times["export_without"]) * 100), 2)
    for what in ("analyze", "export"):
        paired = np.array(times[f"{what}_with"]) / np.array(times[f"{what}_without"])
        ratios[what] = {"median_with_s": round(float(np.median(times[f"{what}_with"])), 3),
                        "median_without_s": round(float(np.median(times[f"{what}_without"])), 3),
                        "median_paired_ratio": round(float(np.median(paired)), 4),
                        "added_percent": round(float((np.median(paired) - 1) * 100), 2)}
        paired_cpu = np.array(cpu[f"{what}_with"]) / np.array(cpu[f"{what}_without"])
        ratios[f"{what}_cpu"] = {"median_with_s": round(float(np.median(cpu[f"{what}_with"])), 3),
                                 "median_without_s": round(float(np.median(cpu[f"{what}_without"])), 3),
                                 "median_paired_ratio": round(float(np.median(paired_cpu)), 4),
                                 "added_percent": round(float((np.median(paired_cpu) - 1) * 100), 2)}
    ratios["load_average"] = [round(v, 2) for v in __import__("os").getloadavg()]
    return ratios


QUALITY = Path(__file__).resolve().parents[2] / "shared" / "tools" / "quality.py"


def outside(root: Path) -> dict:
    """The outside measure, `quality.py audio VIDEO PLAYLOG`, on the clip it is written for: a tone
    of 200 + 15 i Hz in frame i (241 frames, amplitude 0.5), under two pictures: a period-20 cycle
    (jumps join tones 300 Hz apart and more, up to the top) and a drifting texture (jumps join
    near frames: tones 15-75 Hz apart, which beat). Per clip, 20 s exports (random, seed 1, and a
    loop) to mp4 and webm at the clip's 30 fps and a random one at 60 fps, as a user would run
    them (`framechain export ... --log`)."""
    import json
    import subprocess
    import sys

    from tests.synthetic import cycle_frames, pitch_tone, textured_background, write_clip_with_sound

    if not QUALITY.exists():
        return {"skipped": f"missing: {QUALITY}"}
    count = 241
    tone = pitch_tone(count, fps=30, base_hz=200.0, step_hz=15.0, amplitude=0.5)
    rng = np.random.default_rng(0)
    base = textured_background(64, 80, seed=3).astype(np.float32)
    drifting = np.stack([np.roll(base, (int(4 * np.sin(i / 7.0)), int(6 * np.sin(i / 11.0 + 1))),
                                 axis=(0, 1)) for i in range(count)])
    drifting = (drifting + rng.normal(0, 3, drifting.shape)).clip(0, 255).astype(np.uint8)
    pictures = {"cycle": cycle_frames(period=20, repeats=13, height=64, width=80)[:count],
                "drift": drifting}
    out = {}
    for name, frames in pictures.items():
        clip = write_clip_with_sound(root / f"outside-{name}.mov", frames, fps=30, sound=tone)
        for mode, suffix, fps in (("random", ".mp4", None), ("random", ".webm", None),
                                  ("loop", ".mp4", None), ("loop", ".webm", None),
                                  ("random", ".mp4", 60)):
            video = root / f"{name}-{mode}-{fps or 30}{suffix}"
            log = video.with_suffix(".json")
            command = [sys.executable, "-m", "engine.cli", "export", str(clip), "-o", str(video),
                       "--mode", mode, "--seconds", "20", "--seed", "1", "--log", str(log), "--quiet"]
            if fps:
                command += ["--fps", str(fps)]
            subprocess.run(command, check=True, capture_output=True)
            measured = json.loads(subprocess.run([sys.executable, str(QUALITY), "audio", str(video),
                                                  str(log)], check=True, capture_output=True,
                                                 text=True).stdout)
            out[f"{name} {mode} {fps or 30} fps{suffix}"] = {
                key: round(value, 3) for key, value in measured.items() if isinstance(value, float)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="headless play length (goal 2)")
    parser.add_argument("--pairs", type=int, default=5, help="with/without pairs (goal 3)")
    parser.add_argument("--only", choices=("seams", "offset", "costs", "outside"), help="one part only")
    args = parser.parse_args()
    from precompute import analyze_clip

    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tone = tone_analysis(root)
        if args.only in (None, "seams"):
            report["seams"] = {"tone": seams(tone, seconds=60.0)}
            for name in REAL:
                if (CLIPS / name).exists():
                    analysis = analyze_clip(CLIPS / name, out=root / name, progress=False)
                    report["seams"][name] = seams(analysis, seconds=60.0)
                else:
                    report["seams"][name] = f"missing: {CLIPS / name}"
            for name, figures in report["seams"].items():
                print(f"seams {name}: {figures}")
        if args.only in (None, "outside"):
            report["outside"] = outside(root)
            for name, figures in report["outside"].items():
                print(f"quality.py audio, {name}: {figures}")
        if args.only in (None, "offset"):
            report["av_offset_play"] = av_offset(tone, minutes=args.minutes)
            print(f"A/V offset, headless play: {report['av_offset_play']}")
            report["av_offset_exports_frames"] = export_offsets(tone, root)
            print(f"A/V offset, exports (sound - picture, frames): {report['av_offset_exports_frames']}")
        if args.only in (None, "costs"):
            report["costs"] = costs(root, pairs=args.pairs)
        for what, figures in report.get("costs", {}).items():
            if isinstance(figures, dict):
                print(f"cost of sound, {what}: {figures} (goal <= 10%: ratio to goal "
                      f"{figures['added_percent'] / 10:.2f})")
            else:
                print(f"cost of sound, {what}: {figures}{'%' if 'share' in what else ' s'}")
    print(f"saved {save('audio' if args.only is None else f'audio-{args.only}', report)}")


if __name__ == "__main__":
    main()
