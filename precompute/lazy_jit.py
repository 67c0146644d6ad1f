"""numba kernels compiled on their first call instead of at import (issue 17).

`@numba.njit` at module level imports numba (~0.15 s) when the module is imported, and the first
kernel of a process sets up numba's compiler (~0.2 s more). Modules that commands need without
running their kernels (the link-graph check that every analysis load runs, the features of the
decode loop before the warm-up thread has loaded numba) use `@lazy_njit(...)` instead: the
function is compiled, or loaded from numba's disk cache (`cache=True` works as with njit), on
its first call, and importing the module costs nothing.

A lazy kernel is called from Python only: numba cannot call it from another jitted function.
"""
from __future__ import annotations

import functools
import threading

__all__ = ["lazy_njit", "LazyKernel"]


class LazyKernel:
    """A function that becomes `numba.njit(**options)(function)` on its first call."""

    def __init__(self, function, options: dict):
        functools.update_wrapper(self, function)
        self.py_func = function
        self._options = dict(options)
        self._kernel = None
        self._lock = threading.Lock()  # two threads' first calls make one dispatcher

    def dispatcher(self):
        """The numba dispatcher (made on the first call; compiling waits for a signature)."""
        if self._kernel is None:
            with self._lock:
                if self._kernel is None:
                    import numba

                    # the body names `numba` (numba.prange) as a global of its own module, which
                    # imports numba only here
                    self.py_func.__globals__.setdefault("numba", numba)
                    self._kernel = numba.njit(**self._options)(self.py_func)
        return self._kernel

    def __call__(self, *args):
        return self.dispatcher()(*args)

    @property
    def signatures(self) -> list:
        """The signatures compiled so far (none before the first call)."""
        return list(self._kernel.signatures) if self._kernel is not None else []


def lazy_njit(**options):
    """Decorator: like `numba.njit(**options)`, compiled on the first call (module doc)."""
    return lambda function: LazyKernel(function, options)
