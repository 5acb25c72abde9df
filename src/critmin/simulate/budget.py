"""How much memory a run will keep, estimated before it starts, and the limits on its size.

A run keeps, for every path, each chain's per-path metrics ([P, R], and [P, R, S] by end-use
sector for chains with sectors) and its monthly band series ([T, P]); with ``keep_trace`` the
primary chain's full [T, P, R] series too. Blocks of paths are merged at the end (the copies
roughly double the peak). Measured peak RSS above the 290 MB a one-path run needs, on
``controls-reimposed-2026-11`` (rare earths with their Dy + Tb feed, 12 regions):

=============================  ==========  ==============
run                            paths       extra peak RSS
=============================  ==========  ==============
144 months                     8,000       158 MB (19.7 kB a path)
24 months                      8,000       88 MB (11.1 kB a path)
gallium only, 144 months       8,000       17 MB (2.2 kB a path)
144 months, trace kept         1,100       207 MB (97 B a path-month-region)
=============================  ==========  ==============

:func:`estimate_bytes` fits these (per path: 800 B a region + 72 B a month for a chain with
sectors or a feed, 100 B a region + 8 B a month for the others, plus 100 B a path-month-region
for a kept trace). :func:`check_run` refuses a run whose estimate exceeds the limit
(:func:`limit_bytes`: 80% of the memory available now, ``/proc/meminfo`` MemAvailable or
``os.sysconf``; ``CRITMIN_MAX_RUN_MB`` overrides it) with the figure and the largest run that
fits, and any run of more than :data:`MAX_PATHS` paths. Merged results live in the calling
process whichever executor runs the blocks, so a Dask cluster does not lift the limit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from critmin.errors import DataError
from critmin.simulate.chains.registry import chain_info

#: Most paths of one run (the estimate refuses smaller runs that do not fit memory).
MAX_PATHS = 10_000_000
#: Largest seed: numpy's SeedSequence takes any non-negative integer; 2^63 - 1 keeps JSON exact.
MAX_SEED = 2**63 - 1
#: Environment variable overriding the memory limit of one run (MB).
MEMORY_ENV = "CRITMIN_MAX_RUN_MB"
#: Share of the available memory one run may use.
AVAILABLE_SHARE = 0.8
#: Kept series are at most this many values of paths x months x regions (``result.TRACE_LIMIT``).
_TRACE_BYTES = 100
_HEAVY = (800, 72)  # bytes a path: per region, per month (chains with sectors or a feed)
_PLAIN = (100, 8)
_MB = 1024 * 1024


def available_bytes() -> int | None:
    """Memory available to new allocations now (MemAvailable), or None if it cannot be told."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def limit_bytes() -> int | None:
    """The memory one run may keep: ``CRITMIN_MAX_RUN_MB``, else 80% of :func:`available_bytes`."""
    env = os.environ.get(MEMORY_ENV)
    if env:
        try:
            mb = float(env)
        except ValueError:
            mb = math.nan
        if not (math.isfinite(mb) and mb > 0):
            raise DataError(
                f"{MEMORY_ENV}={env!r} is not a positive number of MB", fix=f"e.g. {MEMORY_ENV}=8192"
            )
        return int(mb * _MB)
    avail = available_bytes()
    return None if avail is None else int(avail * AVAILABLE_SHARE)


def per_path_bytes(commodities: Sequence[str], n_months: int, n_regions: int) -> int:
    """Estimated bytes a run keeps per path, without the trace (module docstring)."""
    total = 0
    for cid in commodities:
        info = chain_info(cid)
        per_region, per_month = _HEAVY if info.sectors or info.feed is not None else _PLAIN
        total += per_region * n_regions + per_month * n_months
    return total


def estimate_bytes(
    commodities: Sequence[str], n_months: int, n_regions: int, paths: int, *, keep_trace: bool = False
) -> int:
    """Estimated peak memory a run of ``paths`` paths keeps (module docstring)."""
    trace = _TRACE_BYTES * n_months * n_regions if keep_trace else 0
    return paths * (per_path_bytes(commodities, n_months, n_regions) + trace)


def check_paths(paths: int, *, option: str = "--paths") -> int:
    """``paths`` if it is an integer in [1, :data:`MAX_PATHS`]; else one DataError."""
    if isinstance(paths, bool) or not isinstance(paths, int) or not 1 <= paths <= MAX_PATHS:
        raise DataError(
            f"paths must be a whole number from 1 to {MAX_PATHS:,} (got {paths!r})",
            column="paths",
            fix=f"e.g. {option} 1000",
        )
    return paths


def check_seed(seed: int, *, option: str = "--seed") -> int:
    """``seed`` if it is an integer in [0, :data:`MAX_SEED`]; else one DataError."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise DataError(
            f"seed must be a whole number from 0 to 2^63 - 1 (got {seed!r})",
            column="seed",
            fix=f"e.g. {option} 0",
        )
    return seed


def check_run(
    commodities: Sequence[str],
    n_months: int,
    n_regions: int,
    paths: int,
    *,
    keep_trace: bool = False,
    option: str = "--paths",
    per: int = 1,
    power_of_two: bool = False,
) -> int:
    """The estimate of a run of ``paths`` paths; one DataError if it exceeds :func:`limit_bytes`.

    ``option`` is what the user sets, ``per`` the paths each unit of it costs (a tornado's
    ``1 + 2 x parameters`` cases, Sobol's ``parameters + 2`` rows), so the fix names a value
    of ``option`` that fits (a power of two when ``power_of_two``).
    """
    if per == 1:
        check_paths(paths, option=option)
    need = estimate_bytes(commodities, n_months, n_regions, paths, keep_trace=keep_trace)
    limit = limit_bytes()
    if limit is None or need <= limit:
        return need
    fits = max(0, limit // max(1, need // paths)) // max(1, per)
    if power_of_two and fits >= 2:
        fits = 2 ** (fits.bit_length() - 1)
    source = (
        f"set by {MEMORY_ENV}"
        if os.environ.get(MEMORY_ENV)
        else f"{AVAILABLE_SHARE:.0%} of the memory available"
    )
    raise DataError(
        f"{paths:,} paths over {n_months} months, {n_regions} regions and {len(commodities)} "
        f"chain(s) would need about {need / _MB:,.0f} MB; the limit is {limit / _MB:,.0f} MB ({source})",
        column="paths",
        fix=f"use {option} {fits} or less, a shorter horizon (the scenario's "
        f"start/end) or fewer commodities, or raise the limit with {MEMORY_ENV}=MB",
    )


__all__ = [
    "AVAILABLE_SHARE",
    "MAX_PATHS",
    "MAX_SEED",
    "MEMORY_ENV",
    "available_bytes",
    "check_paths",
    "check_run",
    "check_seed",
    "estimate_bytes",
    "limit_bytes",
    "per_path_bytes",
]
