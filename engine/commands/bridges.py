"""`framechain bridges CLIP`: train the in-between model on a clip and store generated bridges.

The bridges go into the analysis folder's `bridges/` (docs/ARCHITECTURE.md, "Generated
bridges"); `play` and `export` use them with `--transitions generated`.
"""
from __future__ import annotations

import dataclasses

NAME = "bridges"
HELP = "train the in-between model on the clip and store generated bridges for its jumps"


def add_arguments(parser) -> None:
    from engine.commands._common import add_analysis_arguments, add_device_argument

    parser.add_argument("clip", help="video file, image folder or analysis folder")
    parser.add_argument("--train-minutes", type=float, default=5.0, help="training budget (default 5)")
    parser.add_argument("--bridge-frames", type=int, default=4, help="generated frames per jump K (default 4)")
    parser.add_argument("--links-per-frame", type=int, default=2, help="jumps bridged per frame M (default 2)")
    parser.add_argument("--max-store-mb", type=int, default=1024, help="cap on generated frames in MiB")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    from precompute.generative import GenerativeConfig
    from precompute.generative_nets import GENERATORS

    parser.add_argument("--generator", choices=GENERATORS, default=GenerativeConfig.generator,
                        help="the in-between model: regression (U-Net on a reconstruction loss), gan "
                             "(plus a conditional patch discriminator) or diffusion (few-step SDEdit from "
                             f"the morph) (default {GenerativeConfig.generator})")
    add_device_argument(parser, "--model-device", default="auto",
                        text="where torch work runs (the model's training, the distances): auto "
                             "(CUDA when present), cpu or cuda")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_analysis_arguments(parser)


def run(args) -> int:
    from engine.commands._common import open_analysis
    from precompute import bridges, generative

    analysis = open_analysis(args.clip, args, progress=not args.quiet)
    config = bridges.BridgeConfig(frames_per_bridge=args.bridge_frames, links_per_frame=args.links_per_frame,
                                  max_store_bytes=args.max_store_mb * 2**20)
    model_config = dataclasses.replace(generative.default_config(args.device), seed=args.seed,
                                       time_limit_s=args.train_minutes * 60, generator=args.generator)
    made = bridges.build_bridges(analysis, config=config, model_config=model_config,
                                 progress=not args.quiet)
    stats = made.manifest.get("stats", {})
    print(f"{made.path}: {args.generator} model, {made.n_bridges} bridges, {int(made.offsets[-1])} generated frames "
          f"({stats.get('ms_per_frame', 0):.1f} ms each)")
    return 0
