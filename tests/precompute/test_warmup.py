"""The start-up warm-up (issue 17): numba and the kernels load beside the decoding."""
import gc

from precompute.warmup import Warmup, _synthetic_features


def test_warmup_loads_the_features_kernel_and_the_analysis_kernels():
    import precompute.features as features

    warmup = Warmup(dense=True)
    warmup.join()  # not started: returns at once
    assert not warmup.features_loaded.is_set()
    warmup.start()
    warmup.join()
    assert warmup.features_loaded.is_set() and features._kernel is not None
    from precompute.future_cost import _improve
    from precompute.links import _row_candidates

    assert _improve.signatures and _row_candidates.signatures  # loaded by the dense analysis


def test_warmup_failure_is_not_an_error(monkeypatch):
    """Best effort: a kernel that cannot load is left to the analysis, which says why."""
    import precompute.features as features

    def broken():
        raise RuntimeError("no compiler")

    monkeypatch.setattr(features, "load_kernel", broken)
    warmup = Warmup(dense=False)
    warmup.start()
    warmup.join()
    assert warmup.features_loaded.is_set()


def test_synthetic_features_have_jumps():
    from precompute.analysis import analyze_features

    arrays, stats = analyze_features(_synthetic_features(32, 48))
    assert stats["jump_links"] > 0


def test_fewer_collections_restores_the_thresholds():
    from engine.commands._common import fewer_collections

    before = gc.get_threshold()
    with fewer_collections(12_345):
        assert gc.get_threshold()[0] == 12_345
    assert gc.get_threshold() == before
