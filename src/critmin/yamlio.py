"""YAML reading with libyaml's C parser where PyYAML was built with it.

:func:`safe_load` gives exactly what ``yaml.safe_load`` gives (the same safe constructors:
no Python objects), about ten times faster: the bundled sources, parameters and chain specs
are read on every command, and the pure-Python scanner was a visible part of start-up.
User scenarios keep their strict loader (:mod:`critmin.simulate.inputs.yamlload`), which
needs the Python parser's hooks to refuse repeated keys.
"""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's safe loader when available, else PyYAML's own
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Parse one YAML document with the safe constructors (``yaml.safe_load``'s result)."""
    return yaml.load(text, Loader=LOADER)
