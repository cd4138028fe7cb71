"""CPU time-stamp counter for numba kernels (time limits and profiling inside nopython code).

``rdtsc()`` reads LLVM's ``readcyclecounter`` (about 9 ns a call, cacheable, unlike ctypes clock
calls which numba refuses to cache).  :func:`ticks_per_second` calibrates it against
``time.perf_counter`` once per process.
"""

from __future__ import annotations

import time

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def rdtsc(typingctx):  # noqa: ARG001 (numba intrinsic signature)
    sig = types.int64()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=fnty)
        return builder.call(fn, [])

    return sig, codegen


@njit(cache=True)
def read_ticks() -> int:
    return rdtsc()


_TPS: float | None = None


def ticks_per_second() -> float:
    """Counter ticks per second of wall time (calibrated over ~20 ms, cached)."""
    global _TPS
    if _TPS is None:
        read_ticks()
        best = 0.0
        for _ in range(2):
            t0, c0 = time.perf_counter(), read_ticks()
            while time.perf_counter() - t0 < 0.01:
                pass
            t1, c1 = time.perf_counter(), read_ticks()
            best = max(best, (c1 - c0) / (t1 - t0))
        _TPS = best if best > 0 else 1e9
    return _TPS
