"""Issue 16: nothing a user owns is ever lost, and no input makes a traceback or a hang.

One table of hostile inputs and faults (and of clean runs, so that they stay clean). Each bad
case must: exit 2 (130 for Ctrl-C), print exactly one line on stderr that names the input or
the flag as typed, print no traceback, leave every file that was there byte for byte unchanged,
and leave nothing new behind. Everything runs on a tiny synthetic clip (a period-8 cycle of
40x32 frames, 32 frames) made in code.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.cli import main
from tests.synthetic import cycle_frames, write_image_folder

REPO = Path(__file__).resolve().parents[2]


# --- the workspace: a clip folder, an mp4, an analysis and the user's own files -------------
@pytest.fixture(scope="session")
def base(tmp_path_factory):
    from precompute import analyze_clip
    from precompute.video_io import write_frames

    root = tmp_path_factory.mktemp("safety-base")
    frames = cycle_frames(period=8, repeats=4)  # (32, 32, 40, 3) uint8
    write_image_folder(frames, root / "clip")
    write_frames(root / "clip.mp4", frames, fps=30)
    analyze_clip(root / "clip", out=root / "ana", progress=False)
    (root / "user").mkdir()
    (root / "user" / "notes.txt").write_text("my notes\n")
    (root / "user" / "sub").mkdir()
    (root / "user" / "sub" / "more.txt").write_text("more\n")
    (root / "user.png").write_bytes(b"\x89PNG\r\n\x1a\nnot framechain's")
    (root / "user.mp4").write_bytes(b"a video of the user's")
    (root / "user.json").write_text('{"mine": true}')
    (root / "targets.json").write_text(json.dumps([{"t": 0, "x": 100, "y": 100}]))
    for name, value in (("nan", "NaN"), ("huge", 1e300), ("late", 1e9)):
        item = {"t": 1e9 if name == "late" else 0, "x": value if name != "late" else 10, "y": 10}
        text = json.dumps([item]).replace('"NaN"', "NaN")
        (root / f"targets_{name}.json").write_text(text)
    return root


@pytest.fixture
def ws(base, tmp_path):
    """A private copy of the base workspace for one case."""
    work = tmp_path / "ws"
    shutil.copytree(base, work, symlinks=True)
    return work


def snapshot(root: Path) -> dict:
    """{relative path: sha256 (files) or "dir"} of everything under root."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_dir():
            found[key] = "dir"
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:  # a FIFO of the test's own: reading it would block
            found[key] = "special"
    return found


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, expected_code, names):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, err
    assert "Traceback" not in err
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    assert lines[0].startswith("framechain: "), lines[0]
    words = re.sub(r"/\S*", "<path>", lines[0])  # a flag must be named, not found inside a path
    for name in names:
        where = words if name.startswith("-") else lines[0]
        assert name.lower() in where.lower(), f"{name!r} not named in {lines[0]!r}"


@dataclass(frozen=True)
class Case:
    argv: list  # "{ws}" is the workspace
    names: tuple  # what the one line must name (the flag as typed, the path)
    code: int = 2
    creates: tuple = ()  # clean cases: new paths that may appear
    changes: tuple = ()  # clean cases: existing paths that may change
    prepare: object = None  # fn(ws): damage a copy before the run
    env: dict = field(default_factory=dict)


def _manifest(ws: Path, **changes) -> None:
    path = ws / "ana" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def _paint_white(ws: Path) -> None:  # one frame of the store painted white, size unchanged
    store = ws / "ana" / "frames.u8"
    data = bytearray(store.read_bytes())
    frame_bytes = 32 * 40 * 3
    data[5 * frame_bytes:6 * frame_bytes] = b"\xff" * frame_bytes
    store.write_bytes(bytes(data))


def _truncate(ws: Path) -> None:
    clip = ws / "clip.mp4"
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 2 // 3])


EXPORT = ["export", "{ws}/ana", "--seconds", "1", "--quiet"]
PLAY = ["play", "{ws}/ana", "--headless", "--frames", "5", "--quiet"]
STEER = ["steer", "--headless", "--quiet"]
HYPERLAPSE = ["hyperlapse", "{ws}/clip.mp4", "--speedup", "2", "--quiet"]

BAD = {
    # data loss
    "export onto its input": (["export", "{ws}/clip.mp4", "-o", "{ws}/clip.mp4", "--seconds", "1",
                               "--quiet"], ("-o", "clip.mp4")),
    "play log onto the clip": (PLAY + ["--log", "{ws}/clip/frame_00000.png"], ("--log",)),
    "export log onto the clip": (EXPORT + ["-o", "{ws}/x.mp4", "--log", "{ws}/clip.mp4"], ("--log",)),
    "stats onto the analysis' manifest": (PLAY + ["--stats", "{ws}/ana/manifest.json"],
                                          ("--stats", "manifest.json")),
    "an output inside another output folder": (["sprite", "{ws}/clip", "-o", "{ws}/sp", "--export",
                                                 "{ws}/sp/frames.webm"], ("--export", "inside the output folder of -o")),
    "two outputs on one path": (PLAY + ["--stats", "{ws}/a.json", "--log", "{ws}/a.json"],
                                ("--log", "a.json")),
    "analyze -o a folder of the user's": (["analyze", "{ws}/clip", "-o", "{ws}/user", "--quiet"],
                                          ("-o", "user")),
    "analyze -o a file of the user's": (["analyze", "{ws}/clip", "-o", "{ws}/user/notes.txt",
                                         "--quiet"], ("-o", "notes.txt")),
    "export -o FILE/x.mp4": (EXPORT + ["-o", "{ws}/user.json/x.mp4"], ("-o", "is a file")),
    "analyze -o FILE/sub": (["analyze", "{ws}/clip", "-o", "{ws}/user/notes.txt/sub", "--quiet"],
                            ("-o", "is a file")),
    "plot over a PNG of the user's": (["plot", "{ws}/ana", "-o", "{ws}/user.png"], ("-o", "--force")),
    "export over a video of the user's": (EXPORT + ["-o", "{ws}/user.mp4"], ("-o", "--force")),
    "play log over JSON of the user's": (PLAY + ["--log", "{ws}/user.json"], ("--log", "--force")),
    "analyze -o the folder holding the clip": (["analyze", "{ws}/clip.mp4", "-o", "{ws}", "--quiet"],
                                               ("-o",)),
    # paths checked before work
    "--log in a missing folder": (EXPORT + ["-o", "{ws}/x.mp4", "--log", "{ws}/missing/dir/log.json"],
                                  ("--log", "does not exist")),
    "-o in a missing folder": (EXPORT + ["-o", "{ws}/missing/x.mp4"], ("-o", "does not exist")),
    "plot -o x.xyz": (["plot", "{ws}/ana", "-o", "{ws}/x.xyz"], ("-o", ".xyz")),
    "play --stats x.txt": (PLAY + ["--stats", "{ws}/x.txt"], ("--stats", ".txt")),
    # inputs
    "/dev/zero as the clip": (["analyze", "/dev/zero", "--quiet"], ("/dev/zero",)),
    "a missing clip": (["info", "{ws}/nothing.mp4"], ("nothing.mp4",)),
    "a truncated mp4": (["analyze", "{ws}/clip.mp4", "--quiet"], ("clip.mp4", "--allow-truncated"),
                        _truncate),
    "fps 0 in a manifest": (["info", "{ws}/ana"], ("fps",), lambda ws: _manifest(ws, fps=0)),
    "n_frames a string in a manifest": (["info", "{ws}/ana"], ("n_frames",),
                                        lambda ws: _manifest(ws, n_frames="32")),
    "a white frame in the store": (["info", "{ws}/ana"], ("frames.u8",), _paint_white),
    # limits, named as typed
    "play --seed -1": (PLAY + ["--seed", "-1"], ("--seed",)),
    "export --seed -1": (EXPORT + ["-o", "{ws}/x.mp4", "--seed", "-1"], ("--seed",)),
    "export --fps inf": (EXPORT + ["-o", "{ws}/x.mp4", "--fps", "inf"], ("--fps",)),
    "export --fps 1000000": (EXPORT + ["-o", "{ws}/x.mp4", "--fps", "1000000"], ("--fps",)),
    "export --seconds 100000": (["export", "{ws}/ana", "-o", "{ws}/x.mp4", "--seconds", "100000"],
                                ("--seconds",)),
    "export of 48 gigapixels": (EXPORT[:2] + ["-o", "{ws}/x.mp4", "--seconds", "100", "--size",
                                              "4000x4000"], ("--force",)),
    "a loop search of hours": (["loops", "{ws}/ana", "--max-seconds", "1000"], ("--max-seconds", "--force")),
    "export loop of 10 minutes": (EXPORT[:2] + ["-o", "{ws}/x.mp4", "--seconds", "1000"], ("--force",)),
    "random export of 4 hours": (["export", "{ws}/ana", "-o", "{ws}/x.mp4", "--mode", "random",
                                  "--seconds", "14400", "--size", "1280x720"], ("--force",)),
    "analyze --store-max-height 0": (["analyze", "{ws}/clip", "--store-max-height", "0", "--quiet"],
                                     ("--store-max-height",)),
    "analyze --calm-jump-motion -1": (["analyze", "{ws}/clip", "--calm-jump-motion", "-1"],
                                      ("--calm-jump-motion",)),
    "analyze --alpha nan": (["analyze", "{ws}/clip", "--alpha", "nan"], ("--alpha",)),
    "play --display-fps 0": (PLAY + ["--display-fps", "0"], ("--display-fps",)),
    "play --audio-fade -5": (PLAY + ["--audio-fade", "-5"], ("--audio-fade",)),
    "export --audio-fade nan": (EXPORT + ["-o", "{ws}/x.mp4", "--audio-fade", "nan"], ("--audio-fade",)),
    "info --best -1": (["info", "{ws}/ana", "--best", "-1"], ("--best",)),
    "steer --duration nan": (STEER + ["--targets", "{ws}/targets.json", "--duration", "nan"],
                             ("--duration",)),
    "steer --duration -3": (STEER + ["--targets", "{ws}/targets.json", "--duration", "-3"],
                            ("--duration",)),
    "steer target NaN": (STEER + ["--targets", "{ws}/targets_nan.json"], ("--targets",)),
    "steer target 1e300": (STEER + ["--targets", "{ws}/targets_huge.json"], ("--targets",)),
    "steer target at t 1e9": (STEER + ["--targets", "{ws}/targets_late.json"], ("--targets", "t = 1e+09")),
    "steer --targets /dev/zero": (STEER + ["--targets", "/dev/zero"], ("--targets", "/dev/zero")),
    "hyperlapse onto its input": (HYPERLAPSE[:2] + ["-o", "{ws}/clip.mp4", "--speedup", "2"],
                                  ("-o", "clip.mp4")),
    "hyperlapse over a video of the user's": (HYPERLAPSE + ["-o", "{ws}/user.mp4"], ("-o", "--force")),
    "hyperlapse log over JSON of the user's": (HYPERLAPSE + ["-o", "{ws}/h.mp4", "--log", "{ws}/user.json"],
                                               ("--log", "--force")),
    "hyperlapse --log in a missing folder": (HYPERLAPSE + ["-o", "{ws}/h.mp4", "--log",
                                                           "{ws}/missing/h.json"], ("--log", "does not exist")),
    "hyperlapse --speedup 40": (HYPERLAPSE[:2] + ["-o", "{ws}/h.mp4", "--speedup", "40"], ("--speedup",)),
    "hyperlapse --speedup 0.5": (HYPERLAPSE[:2] + ["-o", "{ws}/h.mp4", "--speedup", "0.5"], ("--speedup",)),
    "hyperlapse -o x.xyz": (HYPERLAPSE + ["-o", "{ws}/h.xyz"], ("h.xyz", ".xyz")),
    "hyperlapse --size 0x10": (HYPERLAPSE + ["-o", "{ws}/h.mp4", "--size", "0x10"], ("--size",)),
    "hyperlapse of a missing clip": (["hyperlapse", "{ws}/nothing.mp4", "-o", "{ws}/h.mp4",
                                      "--speedup", "2"], ("nothing.mp4",)),
    "hyperlapse of a truncated mp4": (HYPERLAPSE + ["-o", "{ws}/h.mp4"], ("clip.mp4", "--allow-truncated"),
                                      _truncate),
    "steer --ground-speed 0": (STEER + ["--targets", "{ws}/targets.json", "--ground-speed", "0"],
                               ("--ground-speed",)),
    "steer --ground-speed 1e9": (STEER + ["--targets", "{ws}/targets.json", "--ground-speed", "1e9"],
                                 ("--ground-speed",)),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_exit_2_and_nothing_changes(name, ws, capsys):
    argv, names, *rest = BAD[name]
    if rest:
        rest[0](ws)
    before = snapshot(ws)
    code, _, err = run_cli([a.format(ws=ws) for a in argv], capsys)
    assert_one_line_error(code, err, 2, names)
    assert snapshot(ws) == before  # every file unchanged, nothing new left behind


CLEAN = {
    "analyze -o a new folder": (["analyze", "{ws}/clip", "-o", "{ws}/new", "--quiet"], ("new",), ()),
    "analyze -o an analysis of ours again": (["analyze", "{ws}/clip", "-o", "{ws}/ana", "--quiet",
                                              "--alpha", "0.99"], (), ("ana",)),
    "analyze -o an empty folder": (["analyze", "{ws}/clip", "-o", "{ws}/empty", "--quiet"], (), ("empty",)),
    "export with a log": (EXPORT + ["-o", "{ws}/x.mp4", "--log", "{ws}/x.json"], ("x.mp4", "x.json"), ()),
    "export --no-audio": (EXPORT + ["-o", "{ws}/x.webm", "--no-audio", "--audio-fade", "0"], ("x.webm",), ()),
    "export a truncated mp4 with --allow-truncated": (
        ["export", "{ws}/clip.mp4", "--allow-truncated", "-o", "{ws}/x.gif", "--seconds", "0.5",
         "--quiet"], ("x.gif",), ()),
    "plot --force over a PNG of the user's": (["plot", "{ws}/ana", "-o", "{ws}/user.png", "--force"],
                                              (), ("user.png",)),
    "play with stats and log": (PLAY + ["--stats", "{ws}/s.json", "--log", "{ws}/l.json"],
                                ("s.json", "l.json"), ()),
    "hyperlapse with a log": (HYPERLAPSE + ["-o", "{ws}/h.mp4", "--log", "{ws}/h.json"],
                              ("h.mp4", "h.json"), ()),
    "hyperlapse --stabilize to a PNG folder": (HYPERLAPSE + ["-o", "{ws}/frames", "--stabilize",
                                                             "--size", "20x16"], ("frames",), ()),
}


@pytest.mark.parametrize("name", list(CLEAN))
def test_clean_runs_stay_clean(name, ws, capsys):
    argv, creates, changes = CLEAN[name]
    if name.startswith("export a truncated"):
        _truncate(ws)
    if name == "analyze -o an empty folder":
        (ws / "empty").mkdir()
    before = snapshot(ws)
    code, _, err = run_cli([a.format(ws=ws) for a in argv], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    after = snapshot(ws)
    changed = {k for k in before if after.get(k) != before[k]}
    allowed = set(changes)
    assert all(any(k == c or k.startswith(c + "/") for c in allowed) for k in changed), changed
    new = set(after) - set(before)
    assert all(any(k == c or k.startswith(c + "/") for c in set(creates) | allowed) for k in new), new
    for made in creates:  # what was written is an ordinary, readable file or folder
        mode = (ws / made).stat().st_mode & 0o777
        assert mode & 0o044 == 0o044, oct(mode)
    if name.startswith("export a truncated"):
        assert "warning" in err and "kept the" in err  # how many frames were used is said


def test_writing_the_same_output_twice_needs_no_force(ws, capsys):
    """A file framechain wrote (tagged mp4/gif/png/json) may be written again."""
    for suffix in (".mp4", ".gif", ".png"):
        argv = EXPORT + ["-o", f"{ws}/again{suffix}", "--log", f"{ws}/again.json"]
        for _ in range(2):
            code, _, err = run_cli([a.format(ws=ws) for a in argv], capsys)
            assert code == 0, err
    for _ in range(2):
        code, _, err = run_cli(["plot", f"{ws}/ana", "-o", f"{ws}/plot.png"], capsys)
        assert code == 0, err


def test_info_finds_an_analysis_written_with_o(ws, capsys, monkeypatch):
    """issue 15: `info CLIP` after `analyze CLIP -o DIR` loads DIR instead of analysing again."""
    assert run_cli(["analyze", f"{ws}/clip", "-o", f"{ws}/mine", "--quiet"], capsys)[0] == 0
    import precompute.analysis as analysis_module

    def refuse(*args, **kwargs):
        raise AssertionError("analysed again")

    monkeypatch.setattr(analysis_module, "analyze_clip", refuse)
    code, out, err = run_cli(["info", f"{ws}/clip", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["analysis"].endswith("mine")


# --- faults that need a process of their own ---------------------------------------------------
def _sigint_as_at_a_terminal() -> None:
    """In the child before it runs: Ctrl-C's default disposition. A shell without job control
    starts background jobs with SIGINT ignored (`make test &` in a script), children inherit
    that, and Python then installs no KeyboardInterrupt handler: the Ctrl-C cases below would
    measure how the suite was started, not the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*argv, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SDL_VIDEODRIVER": "dummy",
           "SDL_AUDIODRIVER": "dummy"}
    return [sys.executable, "-m", "engine.cli", *map(str, argv)], dict(
        env=env, cwd=REPO, preexec_fn=_sigint_as_at_a_terminal, **kwargs)


def test_a_fifo_as_the_clip_is_refused_at_once(ws):
    fifo = ws / "clip.fifo"
    os.mkfifo(fifo)
    before = snapshot(ws)
    for argv in (["analyze", fifo], ["play", fifo, "--headless", "--frames", "3"], ["info", fifo]):
        command, options = _cli(*argv)
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, **options)
        assert_one_line_error(result.returncode, result.stderr, 2, (str(fifo), "FIFO"))
    assert snapshot(ws) == before


def test_an_image_folder_holding_a_fifo_is_refused(ws, capsys):
    os.mkfifo(ws / "clip" / "frame_00099.png")
    code, _, err = run_cli(["analyze", f"{ws}/clip", "--quiet"], capsys)
    assert_one_line_error(code, err, 2, ("frame_00099.png", "FIFO"))


def _interrupt_when(process, ready, *, timeout_s: float = 60.0):
    """Send SIGINT once ready() is true (polled), then wait for the exit; (code, stderr)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"never became ready: {process.communicate()[1]}")
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=10)  # the goal: every case ends within 10 s
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("Ctrl-C was not honoured within 10 s")
    return process.returncode, err


def test_ctrl_c_during_an_export_leaves_nothing(ws):
    before = snapshot(ws)
    command, options = _cli("export", ws / "ana", "-o", ws / "long.mp4", "--mode", "random",
                            "--seconds", "3000", "--quiet")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               **options)
    # ready: the writer's temporary file beside the target exists, so the export loop runs
    code, err = _interrupt_when(process, lambda: any(p.name.startswith(".long.mp4")
                                                     for p in ws.iterdir()))
    assert_one_line_error(code, err, 130, ("long.mp4",))
    assert snapshot(ws) == before


def test_ctrl_c_during_the_loop_search(ws):
    before = snapshot(ws)
    # 30,000-frame loops from 20 primitives: an O(L^2 K^2) search of hours, unless interrupted
    command, options = _cli("loops", ws / "ana", "--max-seconds", "1000", "--rows", "1", "--quiet",
                            "--force")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               **options)
    first_line = []

    def ready():  # the header line is printed just before the search starts
        if not first_line:
            first_line.append(process.stdout.readline())
        return "loop candidates" in first_line[0]

    code, err = _interrupt_when(process, ready)
    assert_one_line_error(code, err, 130, ("interrupted",))
    assert snapshot(ws) == before


# --- read-only folders and a full disk ---------------------------------------------------------
def _mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not permitted'}): "
                    "the read-only and full-disk cases need one")


@pytest.fixture
def mounts():
    made = []
    yield made
    for folder in made:
        subprocess.run(["umount", str(folder)], capture_output=True)


def _read_only_folder(ws: Path, mounts) -> Path:
    if os.geteuid() != 0:  # an ordinary user: a chmod 0555 folder refuses writes
        folder = ws / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = ws / "ro"  # root ignores permission bits, but not a read-only mount
    _mount_tmpfs(folder, "size=1m,ro")
    mounts.append(folder)
    return folder


@pytest.mark.parametrize("argv", [
    ["analyze", "{ws}/clip", "-o", "{ro}/ana", "--quiet"],
    PLAY + ["--log", "{ro}/play.json"],
    EXPORT + ["-o", "{ro}/x.mp4"],
    ["analyze", "{ws}/clip", "--quiet"],  # the cache itself in a read-only folder
], ids=["analyze -o", "play --log", "export -o", "the cache"])
def test_a_read_only_folder_is_one_line(argv, ws, mounts, capsys, monkeypatch):
    ro = _read_only_folder(ws, mounts)
    monkeypatch.setenv("FRAMECHAIN_CACHE", str(ro / "cache"))
    before = snapshot(ws)
    code, _, err = run_cli([a.format(ws=ws, ro=ro) for a in argv], capsys)
    assert_one_line_error(code, err, 2, (str(ro),))
    assert snapshot(ws) == before


@pytest.mark.parametrize("argv", [
    ["analyze", "{ws}/clip", "-o", "{full}/ana", "--quiet"],
    ["analyze", "{ws}/clip", "--quiet"],  # the cache on a full disk
    EXPORT[:2] + ["-o", "{full}/x.png", "--seconds", "2", "--quiet"],
], ids=["analyze -o", "the cache", "export -o"])
def test_a_full_disk_is_one_line_and_leaves_nothing(argv, ws, mounts, capsys, monkeypatch):
    full = ws / "full"
    _mount_tmpfs(full, "size=64k")  # the store alone is 123 kB
    mounts.append(full)
    (full / "filler").write_bytes(b"\0" * 56 * 1024)  # 8 kB left
    monkeypatch.setenv("FRAMECHAIN_CACHE", str(full / "cache"))
    before = snapshot(ws)
    code, _, err = run_cli([a.format(ws=ws, full=full) for a in argv], capsys)
    assert_one_line_error(code, err, 2, ("no space left", str(full)))
    after = snapshot(ws)
    assert {k: v for k, v in after.items() if k != "full/cache"} == before


# --- the vocabulary (issue 15 item 2) and the limits table ------------------------------------
WRITES = {"analyze", "plot", "play", "export", "sprite", "steer", "eval-transitions", "demo",
          "hyperlapse"}
ANALYSES = {"analyze", "info", "plot", "play", "loops", "export", "bridges", "eval-transitions",
            "serve"}
SILENT = {"info", "loops", "bridges", "serve"}  # write no file of their own (bridges: into the
#   analysis; serve: its HLS segments into a temporary folder of its own)


# what each command needs to parse (numbers are checked before the command runs: "c" need not exist)
POSITIONALS = {"analyze": ["c"], "info": ["c"], "plot": ["c"], "play": ["c"], "loops": ["c"],
               "export": ["c", "--seconds", "1"], "sprite": ["c"], "steer": [], "bridges": ["c"],
               "eval-transitions": ["c"], "demo": [], "hyperlapse": ["c", "--speedup", "4"]}


def _commands():
    from engine.cli import build_parser

    parser = build_parser()
    return parser, parser._commands


def test_every_command_is_classified():
    _, commands = _commands()
    assert set(commands) <= WRITES | SILENT, (
        "a new command: add it to WRITES or SILENT (and to ANALYSES if it analyses) above")


@pytest.mark.parametrize("spelling", ["-o", "--output"])
def test_every_writing_command_takes_o_output(spelling):
    _, commands = _commands()
    for name in sorted(WRITES & set(commands)):
        args, unknown = commands[name].parse_known_args([*POSITIONALS.get(name, ["c"]), spelling, "somewhere.mp4"])
        assert not unknown and args.output == "somewhere.mp4", name
        assert hasattr(args, "force") and hasattr(args, "quiet"), name


def test_every_analysing_command_takes_the_same_analysis_flags():
    from engine.commands._common import _FLAGS

    _, commands = _commands()
    given = []
    for flag, (_, kind, _) in _FLAGS.items():
        given += [flag, "min" if kind is str else "1"]
    given += ["--equalize", "--input-fps", "24", "--allow-truncated", "--device", "cpu", "--quiet"]
    for name in sorted(ANALYSES & set(commands)):
        args, unknown = commands[name].parse_known_args([*POSITIONALS.get(name, ["c"]), *given])
        assert not unknown, (name, unknown)
        assert args.input_fps == 24 and args.device == "cpu" and args.allow_truncated, name


def test_old_spellings_still_work():
    _, commands = _commands()
    assert commands["analyze"].parse_args(["c", "--out", "d"]).output == "d"
    assert commands["plot"].parse_args(["c", "--out", "d.png"]).output == "d.png"
    assert commands["demo"].parse_args(["--out", "d"]).output == "d"
    assert commands["play"].parse_args(["c", "--render-device", "cpu"]).device == "cpu"
    assert commands["play"].parse_args(["c", "--record", "r.mp4"]).output == "r.mp4"
    assert commands["play"].parse_args(["c", "--fps", "12"]).input_fps == 12
    assert commands["bridges"].parse_args(["c", "--model-device", "cpu"]).device == "cpu"
    assert commands["eval-transitions"].parse_args(["c", "--json", "j.json"]).output == "j.json"
    assert commands["export"].parse_args(["c", "-o", "x", "--seconds", "1", "--fps", "12"]).fps == 12


def test_version_and_subcommand_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("framechain ")
    with pytest.raises(SystemExit) as exit_:
        main(["export", "c", "-o", "x.mp4", "--seconds", "1", "--no-such-flag"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "usage: framechain export" in err and "--no-such-flag" in err


def _numeric_options():
    _, commands = _commands()
    for name, parser in sorted(commands.items()):
        for action in parser._actions:
            if action.type in (int, float) and action.option_strings:
                longs = [s for s in action.option_strings if s.startswith("--")]
                yield name, longs[0], action


def test_every_numeric_option_has_a_range():
    from engine.commands._common import LIMITS

    missing = [(name, flag) for name, flag, _ in _numeric_options()
               if flag not in LIMITS and (name, flag) not in LIMITS]
    assert not missing, f"give these a range in engine/commands/_common.py LIMITS: {missing}"




@pytest.mark.parametrize("bad", ["nan", "inf", "-1e300"])
def test_every_numeric_option_refuses_nonsense_by_its_flag(bad, capsys):
    """Checked before any work: no clip "c" needs to exist."""
    for name, flag, action in _numeric_options():
        if action.type is int and bad != "-1e300":
            continue  # argparse itself refuses "nan" for an int (with the command's usage)
        value = bad if action.type is float else "-999999999999"
        if isinstance(action.nargs, int):  # --range START STOP
            argv = [name, *POSITIONALS.get(name, ["c"]), flag, *["0"] * (action.nargs - 1), value]
        else:  # "--flag=-1e300": argparse takes a bare "-1e300" for an option
            argv = [name, *POSITIONALS.get(name, ["c"]), f"{flag}={value}"]
        code, _, err = run_cli(argv, capsys)
        assert_one_line_error(code, err, 2, (flag,))


def test_every_default_is_within_its_own_range():
    """A default outside LIMITS would make a command refuse to run when the flag is not given."""
    from engine.commands._common import check_numbers

    _, commands = _commands()
    for name, parser in sorted(commands.items()):
        check_numbers(parser, parser.parse_args(POSITIONALS.get(name, ["c"])), name)


def test_a_chmod_0555_folder_as_an_unprivileged_user(tmp_path):
    """Permission bits bind only a non-root user: as root, the CLI runs as nobody (65534)."""
    import tempfile

    as_user = {}
    if os.geteuid() == 0:
        try:
            probe = subprocess.run([sys.executable, "-c", "import engine.cli"], cwd=REPO, user=65534,
                                   group=65534, capture_output=True, text=True, timeout=60)
            why = probe.stderr.strip().splitlines()[-1:] if probe.returncode else None
        except OSError as error:  # the interpreter itself is not reachable (under /root)
            why = str(error)
        if why:
            pytest.skip(f"running as root and user nobody cannot run this interpreter or read the "
                        f"repository ({why}); the read-only mount cases cover root")
        as_user = {"user": 65534, "group": 65534}
    work = Path(tempfile.mkdtemp(prefix="framechain-ro-"))  # tmp_path's parents are root-only
    try:
        work.chmod(0o755)
        clip = write_image_folder(cycle_frames(period=8, repeats=4), work / "clip")
        for path in [clip, *clip.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        read_only = work / "ro"
        read_only.mkdir(mode=0o555)
        read_only.chmod(0o555)
        before = snapshot(work)
        command, options = _cli("analyze", clip, "-o", read_only / "ana", "--quiet")
        options["env"]["FRAMECHAIN_CACHE"] = str(read_only / "cache")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, **options,
                                **as_user)
        assert_one_line_error(result.returncode, result.stderr, 2, (str(read_only),))
        assert snapshot(work) == before
    finally:
        shutil.rmtree(work, ignore_errors=True)
