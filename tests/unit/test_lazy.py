"""critmin.lazy: subpackages reachable after a bare ``import critmin``, which stays light."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from critmin.lazy import lazy_submodules


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing of critmin imported yet); return stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_readme_api_examples_resolve_after_a_bare_import() -> None:
    out = _python(
        """
        import critmin
        print(callable(critmin.trace.country.origin_matrix))
        print(callable(critmin.metrics.concentration.hhi))
        print(callable(critmin.data.dataset.Dataset))
        print(callable(critmin.report.tables.write_tables))
        print(callable(critmin.store.duckdb_store.Store))
        print(callable(critmin.model.stages.parse_stage))
        print(callable(critmin.data.importers.usgs_mcs.read_world_csv))
        print(callable(critmin.exposure), callable(critmin.load_dataset), critmin.Stage.MINING.value)
        """
    )
    assert out.split() == ["True"] * 7 + ["True", "True", "mining"]


def test_origin_matrix_reached_lazily_gives_the_same_answer_as_a_direct_import() -> None:
    out = _python(
        """
        import critmin
        ds = critmin.load_dataset()
        lazy = critmin.trace.country.origin_matrix(ds, "separation", "mining", 2024)
        from critmin.trace.country import origin_matrix
        direct = origin_matrix(ds, "separation", "mining", 2024)
        print(lazy.matrix.equals(direct.matrix), round(float(lazy.matrix.loc["CHN", "CHN"]), 6))
        """
    )
    same, chn = out.split()
    assert same == "True"
    assert 0.5 < float(chn) < 1.0


def test_bare_import_loads_no_heavy_dependency() -> None:
    out = _python(
        """
        import sys, critmin
        heavy = [m for m in ("pandas", "numpy", "plotly", "pandera", "scipy", "critmin.data.dataset")
                 if m in sys.modules]
        print(heavy or "none")
        """
    )
    assert out.strip() == "none"


def test_dir_lists_subpackages_and_unknown_names_are_attribute_errors() -> None:
    import critmin

    names = dir(critmin)
    for sub in ("trace", "simulate", "metrics", "report", "data", "store", "model", "cli"):
        assert sub in names
    assert "load_dataset" in names
    assert "__main__" not in names  # never imported as a side effect of an attribute read
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        _ = critmin.no_such_thing  # type: ignore[attr-defined]
    assert not hasattr(critmin, "_private_module")


def test_an_import_error_inside_a_submodule_is_not_masked(tmp_path: Path) -> None:
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from critmin.lazy import lazy_submodules\n__getattr__, __dir__ = lazy_submodules(__name__)\n"
    )
    (pkg / "broken.py").write_text("import no_such_dependency_xyz\n")
    (pkg / "fine.py").write_text("VALUE = 42\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import lazypkg  # type: ignore[import-not-found]

        assert lazypkg.fine.VALUE == 42
        with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
            _ = lazypkg.broken
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
            del sys.modules[name]


def test_a_plain_module_is_refused() -> None:
    import critmin.jsonsafe  # noqa: F401 - it must be imported to be looked up

    with pytest.raises(TypeError, match="not a package"):
        lazy_submodules("critmin.jsonsafe")
