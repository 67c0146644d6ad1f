"""`framechain serve CLIP_OR_ANALYSIS`: the endless video on a web page (MJPEG, HLS, live controls)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

NAME = "serve"
HELP = ("serve the endless video to browsers: a page with speed, variety and range controls, "
        "/stream.mjpg, /hls/index.m3u8, POST /control, GET /state (loopback only unless --host)")


def add_arguments(parser) -> None:
    parser.add_argument("clip", metavar="CLIP_OR_ANALYSIS",
                        help="a video, GIF or image folder (analysed first, or taken from the "
                             "cache), or a saved analysis folder")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 for every network interface)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    parser.add_argument("--size", metavar="WxH", help="stream size, e.g. 640x360 (default: the frame store's)")
    parser.add_argument("--transitions", choices=("crossfade", "morph", "cut", "generated"),
                        default="crossfade",
                        help="how jumps are rendered (morph: optical flow, computed once and stored; "
                             "generated: the bridges of `framechain bridges`, else the morph)")
    parser.add_argument("--fade", type=int, default=4, metavar="K",
                        help="crossfade length in frames, centred on each jump (default 4; 0 cuts)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help="starting speed, 0.1-4 (default 1)")
    parser.add_argument("--variety", type=float, default=1.0, metavar="X",
                        help="starting variety, 0.1-10 (default 1)")
    parser.add_argument("--jpeg-quality", type=int, default=80, metavar="Q",
                        help="MJPEG quality 0-100 (default 80)")
    parser.add_argument("--no-hls", action="store_true", help="serve MJPEG only (saves one H.264 encode per frame)")
    from engine.commands._common import add_analysis_arguments

    add_analysis_arguments(parser, fps_alias=False)  # used when CLIP is analysed first (the
    #   cache keys on them); --input-fps is an image folder's rate, --fps the stream's
    parser.add_argument("--fps", type=float, default=None, metavar="F",
                        help="stream frame rate (default: the clip's); for an image folder "
                             "without --input-fps also its frame rate (default 30)")


def _is_image_folder(path: str) -> bool:
    folder = Path(path)
    return folder.is_dir() and not (folder / "manifest.json").is_file()


def _check_listenable(host: str, port: int) -> None:
    """Fail before a long analysis when the address cannot be listened on (the server checks
    again when it binds: the port may be taken in between)."""
    import errno
    import socket

    from precompute.errors import ConfigError

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConfigError(f"--host {host}: not an address of this machine ({error.strerror}); "
                          "use 127.0.0.1, 0.0.0.0 or one of its addresses") from None
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConfigError(f"--port {port}: {host}:{port} is already in use; stop what holds "
                                  "it or pick another port (--port 0 picks a free one)") from None
            raise ConfigError(f"--host {host}: cannot listen on {host}:{port} ({error.strerror}); "
                              "use 127.0.0.1, 0.0.0.0 or an address of this machine") from None


def run(args) -> int:
    from engine.commands._common import open_analysis
    from engine.export import parse_size
    from engine.playback import PlaybackConfig
    from engine.render import make_compositor
    from engine.serve import SPEED_RANGE, VARIETY_RANGE, ServeConfig, StreamEngine, serve_forever
    from engine.texture import VideoTexture
    from precompute.errors import ConfigError

    if not (math.isfinite(args.speed) and SPEED_RANGE[0] <= args.speed <= SPEED_RANGE[1]):
        raise ConfigError(f"--speed must be in 0.1..4, got {args.speed}")
    if not (math.isfinite(args.variety) and VARIETY_RANGE[0] <= args.variety <= VARIETY_RANGE[1]):
        raise ConfigError(f"--variety must be in 0.1..10, got {args.variety}")
    size = parse_size(args.size)
    if size is not None and min(size) < 2:
        raise ConfigError(f"--size must be at least 2x2 pixels, got {args.size}")
    # checked before the (possibly long) analysis, so a typo fails at once
    config = ServeConfig(host=args.host, port=args.port, fps=args.fps, jpeg_quality=args.jpeg_quality,
                         hls=not args.no_hls)
    _check_listenable(config.host, config.port)
    # --fps is the stream's rate: a video keeps its own clip rate (so play stays real time), an
    # image folder (which has none) takes it as its rate too
    if args.input_fps is None and _is_image_folder(args.clip):
        args.input_fps = args.fps
    analysis = open_analysis(args.clip, args, progress=True)
    texture = VideoTexture.from_analysis(analysis)
    transitions, fade = args.transitions, args.fade
    flows = None
    if transitions == "generated":
        import numpy as np

        from precompute.bridges import bridges_message, load_bridges

        bridges = load_bridges(analysis)
        if bridges is None:
            print(f"framechain: {bridges_message(analysis)}", file=sys.stderr)
            transitions = "morph"
        else:  # the chain over real and generated states; a bridge is the transition: no fade
            texture = VideoTexture.from_arrays(
                np.concatenate([np.asarray(analysis.frames), np.asarray(bridges.frames)]),
                fps=analysis.fps, sigma=analysis.stats.get("sigma"), source=texture.source,
                **bridges.texture_arrays())
            transitions, fade = "cut", 0
    if transitions == "morph":
        from precompute.analysis import analysis_flows

        flows = analysis_flows(analysis, progress=True)
    if transitions == "cut":
        fade = 0
    playback = PlaybackConfig(speed=args.speed, variety=args.variety, fade_frames=fade, seed=args.seed)
    compositor = make_compositor(texture.frames, transitions="morph" if flows is not None else "crossfade",
                                 flows=flows, fade_frames=fade)
    engine = StreamEngine(texture, compositor=compositor, playback=playback, size=size)

    def announce(url: str) -> None:
        width, height = engine.size
        print(f"framechain: serving {texture.source or args.clip} at {width}x{height}, "
              f"{config.fps or texture.fps:g} fps on {url} (Ctrl-C stops)", flush=True)
        if config.host in ("127.0.0.1", "localhost", "::1"):
            print("framechain: only this machine can connect; --host 0.0.0.0 opens it to the network",
                  flush=True)

    import asyncio

    asyncio.run(serve_forever(engine, config, announce=announce))
    print("framechain: stopped", flush=True)
    return 0
