"""Analyse many clips: in this process, in a local process pool, or on a Dask cluster.

`analyze_many(paths, config, jobs=4)` runs `precompute.analysis.analyze_clip` once per clip in a
pool of worker processes; `analyze_many(paths, config, scheduler="tcp://HOST:PORT")` submits one
Dask task per clip to a running `dask.distributed` scheduler instead. Each clip's analysis is
written by the worker that made it, to `out_dir/<clip name>/` or, without `out_dir`, to the
worker's analysis cache (`$FRAMECHAIN_CACHE` or `~/.cache/framechain/`). On a cluster, give an
`out_dir` on storage that the workers and this machine share: a worker's own cache is not
visible here.

A clip that fails (unreadable, too short, a worker that died) is reported in its `ClipResult`
and the others still finish: `analyze_many` itself raises only for bad arguments.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import ConfigError, FramechainError

__all__ = ["ClipResult", "analyze_many"]


@dataclass(frozen=True)
class ClipResult:
    """What became of one clip of a batch.

    path: the clip as given. ok: whether its analysis was saved. out: the saved analysis folder
    (on the machine that ran it) when ok. error: one line saying what went wrong when not ok
    (`error_type` is the exception's class name). seconds: time spent on the clip. worker: the
    process or Dask worker that ran it.
    """

    path: str
    ok: bool
    out: str | None = None
    error: str | None = None
    error_type: str | None = None
    seconds: float = 0.0
    n_frames: int | None = None
    worker: str | None = None


def _output_folders(paths: Sequence[str], out_dir: str | None) -> list[str | None]:
    """One analysis folder per clip under out_dir (None: the cache decides).

    Clips with the same file name from different folders get a short hash of their full path
    appended, so that no two clips of a batch write the same folder.
    """
    if out_dir is None:
        return [None] * len(paths)
    stems = [os.path.splitext(os.path.basename(os.path.normpath(p)))[0] or "clip" for p in paths]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    folders = []
    for path, stem in zip(paths, stems):
        if counts[stem] > 1:
            digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:8]
            stem = f"{stem}-{digest}"
        folders.append(os.path.join(out_dir, stem))
    return folders


def _analyze_one(path: str, config: Any, out: str | None, fps: float | None = None) -> ClipResult:
    """Analyse one clip and save it; never raises (a failure becomes a ClipResult with ok=False).

    Module-level so that process pools and Dask can pickle it by reference.
    """
    from .analysis import analyze_clip  # imported here: the workers pay the import, not the caller

    worker = f"{os.uname().nodename}:{os.getpid()}"
    start = time.perf_counter()
    try:
        analysis = analyze_clip(path, config, out=out, fps=fps, progress=False)
    except FramechainError as error:
        return ClipResult(path, False, error=str(error), error_type=type(error).__name__,
                          seconds=time.perf_counter() - start, worker=worker)
    except Exception as error:  # noqa: BLE001 - one clip's bug must not sink the batch
        last = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" (at {os.path.basename(last.filename)}:{last.lineno})" if last else ""
        return ClipResult(path, False, error=f"{type(error).__name__}: {error}{where}",
                          error_type=type(error).__name__,
                          seconds=time.perf_counter() - start, worker=worker)
    return ClipResult(path, True, out=str(getattr(analysis, "path", out)),
                      seconds=time.perf_counter() - start,
                      n_frames=getattr(analysis, "n_frames", None), worker=worker)


def _init_pool_worker(threads: int) -> None:
    """Give each pool process its share of the cores, so that N workers do not oversubscribe."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)  # effective for libraries not loaded yet (spawned process)
    os.environ["NUMBA_NUM_THREADS"] = str(threads)


class _Progress:
    """A clip counter on stderr (tqdm when progress is on), with the failures named as they come."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="clip", desc="analyse", file=sys.stderr)

    def update(self, result: ClipResult) -> None:
        if self.bar is None:
            return
        if not result.ok:
            self.bar.write(f"failed: {result.path}: {result.error}")
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def analyze_many(paths: Sequence[str | os.PathLike], config: Any = None, *, jobs: int = 1,
                 scheduler: Any = None, out_dir: str | os.PathLike | None = None,
                 fps: float | None = None, progress: bool = True) -> list[ClipResult]:
    """Analyse every clip of `paths` and save each analysis; return one ClipResult per clip,
    in the order of `paths`.

    config: an AnalysisConfig for all clips (None: the defaults).
    jobs: worker processes on this machine (1: one after the other, in this process).
        Each worker gets cpu_count // jobs threads.
    scheduler: a Dask scheduler address ("tcp://HOST:PORT"), or a `dask.distributed.Client`
        or `LocalCluster` to use; one task per clip. `jobs` is then ignored (the cluster's
        workers decide the parallelism).
    out_dir: folder for the analyses, one sub-folder per clip (named after the clip); None
        writes each to the analysis cache of the machine that ran it.
    fps: frame rate for image folders (analyze_clip's fps; None: the clip's own).
    progress: a clip counter on stderr, naming failures as they happen.

    A failed clip gives ok=False with its error; the others still finish.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise ConfigError(f"paths must be a list of clips, got the single path {paths!r}: "
                          f"pass [{str(paths)!r}]")
    paths = [os.fspath(p) for p in paths]
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a whole number >= 1, got {jobs!r}")
    if config is None:
        from .config import AnalysisConfig

        config = AnalysisConfig()
    if out_dir is not None:
        out_dir = os.path.abspath(os.fspath(out_dir))
        os.makedirs(out_dir, exist_ok=True)
    folders = _output_folders(paths, out_dir)
    if not paths:
        return []
    bar = _Progress(len(paths), progress)
    try:
        if scheduler is not None:
            return _run_dask(paths, folders, config, fps, scheduler, bar)
        if jobs == 1 or len(paths) == 1:
            results = []
            for path, folder in zip(paths, folders):
                results.append(_analyze_one(path, config, folder, fps))
                bar.update(results[-1])
            return results
        return _run_pool(paths, folders, config, fps, jobs, bar)
    finally:
        bar.close()


def _run_pool(paths, folders, config, fps, jobs, bar) -> list[ClipResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    jobs = min(jobs, len(paths))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    # spawn, not fork: the parent may hold numba/torch/OpenMP thread pools that a fork would copy
    # in a locked state.
    context = multiprocessing.get_context("spawn")
    results: list[ClipResult | None] = [None] * len(paths)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_pool_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_analyze_one, path, config, folder, fps): index
                   for index, (path, folder) in enumerate(zip(paths, folders))}
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool as error:  # a worker was killed (out of memory, signal)
                result = ClipResult(paths[index], False, error_type="BrokenProcessPool",
                                    error=f"the worker process died ({error}); the clip may "
                                          f"need more memory than the machine has: retry it "
                                          f"with --jobs 1")
            except Exception as error:  # noqa: BLE001
                result = ClipResult(paths[index], False, error=f"{type(error).__name__}: {error}",
                                    error_type=type(error).__name__)
            results[index] = result
            bar.update(result)
    return results  # type: ignore[return-value]


def _run_dask(paths, folders, config, fps, scheduler, bar) -> list[ClipResult]:
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise ConfigError("a Dask scheduler needs dask.distributed: pip install "
                          "'framechain[cluster]' (or drop --scheduler)") from error
    own_client = False
    if isinstance(scheduler, Client):
        client = scheduler
    elif isinstance(scheduler, str) or hasattr(scheduler, "scheduler_address"):
        try:
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler!r} ({error}): check "
                              f"the address (tcp://HOST:PORT) and that the scheduler runs") from error
        own_client = True
    else:
        raise ConfigError(f"scheduler must be an address 'tcp://HOST:PORT', a dask Client or a "
                          f"LocalCluster, got {type(scheduler).__name__}")
    try:
        futures = []
        for index, (path, folder) in enumerate(zip(paths, folders)):
            # one task per clip; the key names the clip on the dashboard, pure=False re-runs a
            # clip submitted twice instead of sharing one result
            key = f"framechain-analyze-{index}-{os.path.basename(path)}"
            futures.append(client.submit(_analyze_one, path, config, folder, fps, key=key,
                                         pure=False, retries=0))
        index_of = {future.key: index for index, future in enumerate(futures)}
        results: list[ClipResult | None] = [None] * len(paths)
        for future in as_completed(futures, loop=client.loop):  # this client's loop, not a default
            index = index_of[future.key]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker or a task error
                result = ClipResult(paths[index], False, error=f"{type(error).__name__}: {error}",
                                    error_type=type(error).__name__)
            results[index] = result
            bar.update(result)
        return results  # type: ignore[return-value]
    finally:
        if own_client:
            client.close()
