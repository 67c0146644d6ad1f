"""Hyperlapse on the synthetic hand-held walk (tests/synthetic_walk.py), whose path and shake
are known: the chosen frames keep the asked speed-up, skip the frames thrown furthest off the
path, and shake less than naive every-v-th sampling (quality.py shake's jitter)."""
from __future__ import annotations

import numpy as np
import pytest

from precompute.hyperlapse import (HyperlapseConfig, estimated_jitter_px, jitter_px, match_frames,
                                   matching_costs, naive_frames, select_frames, stabilizing_warps)
from tests.synthetic_walk import WalkConfig, walk_array

SPEEDUP = 8
WALK = WalkConfig(ground_px=1024, seed=3)  # a smaller ground draws faster; the walk wraps on it


@pytest.fixture(scope="module")
def walk():
    frames, truth = walk_array(960, WALK)  # 32 s at 30 fps, ~24 jolts
    config = HyperlapseConfig()
    matches = match_frames(frames, speedup=SPEEDUP, config=config)
    selection = select_frames(matching_costs(matches, config), SPEEDUP, config)
    return frames, truth, matches, selection, naive_frames(len(frames), SPEEDUP)


def test_the_chosen_frames_keep_the_speedup(walk):
    frames, _, _, selection, _ = walk
    assert abs(selection.mean_step - SPEEDUP) / SPEEDUP < 0.05
    assert selection.frames[0] < 4 and selection.frames[-1] >= len(frames) - 4  # the whole walk
    assert np.all(np.diff(selection.frames) >= 1)


def test_the_worst_shaken_frames_are_skipped(walk):
    """Frames thrown off the path by more than the overlap limit (tau_c = 0.1 of the diagonal,
    the paper's: the peaks of the jolts) are never chosen; naive sampling shows some. Among the 5% most shaken frames the path takes under half its usual rate."""
    frames, truth, _, selection, naive = walk
    shake = truth.shake_px
    overall = len(selection.frames) / len(shake)
    thrown = shake > 1.1 * HyperlapseConfig().overlap_limit * WALK.diagonal_px
    assert thrown.sum() >= 20  # the test's premise: the walk has such frames
    assert not thrown[selection.frames].any()
    assert thrown[naive].any()  # blind sampling shows some of them
    worst = shake >= np.percentile(shake, 95)
    assert worst[selection.frames].sum() / worst.sum() < 0.5 * overall
    assert shake[selection.frames].mean() < 0.85 * shake[naive].mean()


def test_the_hyperlapse_shakes_less_than_naive_sampling(walk):
    frames, _, matches, selection, naive = walk
    chosen = jitter_px(frames[selection.frames])
    baseline = jitter_px(frames[naive])
    assert chosen < 0.85 * baseline
    # the matching's own estimate agrees in direction (the command prints it)
    assert estimated_jitter_px(matches, selection.frames) < estimated_jitter_px(matches, naive)


def test_stabilizing_removes_most_of_the_remaining_shake(walk):
    import cv2

    frames, _, matches, selection, naive = walk
    warps = stabilizing_warps(matches, selection.frames, HyperlapseConfig())
    size = (frames.shape[2], frames.shape[1])
    steady = [cv2.warpAffine(frames[f], warp, size, flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
              for f, warp in zip(selection.frames, warps)]
    assert jitter_px(steady) < 0.5 * jitter_px(frames[selection.frames])
    assert jitter_px(steady) < 0.5 * jitter_px(frames[naive])
