"""Example counts for the readers' fuzz tests (marked ``fuzz``).

Under the default ``ci`` profile a fuzz test draws ``ci`` examples (a few seconds in
``make test``); under ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``, which CI runs after the
tests) it draws :data:`FUZZ_EXAMPLES`. Both are derandomised: the same examples every run.
"""

from __future__ import annotations

import os

from hypothesis import settings

#: Examples per fuzz test under ``make fuzz``.
FUZZ_EXAMPLES = 2000


def fuzz_settings(ci: int = 60) -> settings:
    """Hypothesis settings for a fuzz test: ``ci`` examples normally, more under ``make fuzz``."""
    n = FUZZ_EXAMPLES if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else ci
    return settings(max_examples=n, deadline=None)


def fuzz_examples(ci: int) -> int:
    """``ci`` normally; :data:`FUZZ_EXAMPLES` under ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``)."""
    return FUZZ_EXAMPLES if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else ci
