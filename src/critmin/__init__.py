"""critmin: stress-test critical-mineral supply chains on cited public data."""

from __future__ import annotations

__version__ = "0.1.0"
