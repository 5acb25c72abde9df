"""Writing figures: self-contained offline HTML and PNG (kaleido + a headless Chromium), atomically.

Split from :mod:`critmin.report.figures` so figure-building code stays separate from file and
browser handling.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import logging
import os
import re
import shutil
from functools import cache
from importlib import resources
from pathlib import Path

import plotly.graph_objects as go  # type: ignore[import-untyped]

from critmin._version import __version__
from critmin.atomic import atomic_write_bytes
from critmin.errors import CritminError

# One definition of "which shares describe a stage" lives in critmin.metrics.exposure.

_log = logging.getLogger(__name__)

#: EU CRM methodology thresholds: a raw material is critical when both are reached.

#: multiplies it for the bitmap.
#: Size of a PNG (layout pixels) when the figure's layout does not set one; ``PNG_SCALE``
PNG_WIDTH = 1200
PNG_HEIGHT = 700
PNG_SCALE = 2
#: Seconds kaleido may spend rendering one image.
PNG_TIMEOUT_S = 90
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_WORLD_TOPOJSON = "world_110m.json"
_GEO_TRACES = frozenset({"choropleth", "scattergeo"})

_NO_KALEIDO = (
    "PNG export needs the Python package kaleido (version 1 or later), which is not installed. "
    "Fix: pip install 'kaleido>=1', or write the figure as .html instead"
)
_NO_BROWSER = (
    "PNG export needs Chrome or Chromium and none was found. Fix: install one "
    "(Debian/Ubuntu: `apt-get install chromium`; macOS/Windows: Google Chrome), or download "
    "one with `kaleido_get_chrome`, or set BROWSER_PATH to the browser's executable; "
    "or write the figure as .html instead, which needs no browser"
)


# --------------------------------------------------------------------------- writing
def write_figure(fig: go.Figure, path: Path | str, *, png_sibling: bool = True) -> list[Path]:
    """Write ``fig`` to ``path`` (``.html`` or ``.png``) atomically; return the paths written.

    ``.html`` is one self-contained page (plotly.js and the base map inlined, no CDN);
    with ``png_sibling`` a ``.png`` of the same name is also written when PNG export is
    available (a failure there is logged, not raised). ``.png`` needs kaleido and a Chrome or
    Chromium browser, else :class:`CritminError` says how to get them. Missing parent folders
    are created. On any failure the target is left as it was and no temporary file remains.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in {".html", ".htm"}:
        _atomic_write(target, to_html(fig).encode("utf-8"))
        written = [target]
        if png_sibling:
            problem = png_export_problem()
            if problem is None:
                png = target.with_suffix(".png")
                try:
                    _atomic_write(png, to_png(fig))
                    written.append(png)
                except CritminError as exc:
                    _log.warning("wrote %s but not its PNG: %s", target, exc)
            else:
                _log.info("no PNG beside %s: %s", target, problem)
        return written
    if suffix == ".png":
        _atomic_write(target, to_png(fig))
        return [target]
    raise CritminError(
        f"{target}: cannot write a figure as {suffix or 'a file without a suffix'!r}. "
        "Fix: name the file .html (interactive, self-contained) or .png (static image)"
    )


def to_html(fig: go.Figure) -> str:
    """The figure as one self-contained HTML page: no script or data is fetched from a CDN.

    plotly.js is inlined; for map figures the world base map is inlined too (as
    ``window.PlotlyGeoAssets``, where plotly.js looks before fetching).
    """
    div = fig.to_html(
        include_plotlyjs=True,
        full_html=False,
        include_mathjax=False,
        config={"displaylogo": False, "responsive": True},
        default_width="100%",
        default_height="100%",
    )
    title = re.sub(r"<[^>]+>", " ", str(fig.layout.title.text or "critmin figure"))
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="critmin {__version__}">',
        f"<title>{html.escape(' '.join(html.unescape(title).split()))}</title>",
        "<style>html, body { height: 100%; margin: 0; } body > div { height: 100%; }</style>",
    ]
    if uses_geo(fig):
        head.append(_geo_assets_script())
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n'
        + "\n".join(head)
        + "\n</head>\n<body>\n"
        + div
        + "\n</body>\n</html>\n"
    )


def to_png(
    fig: go.Figure, *, width: int | None = None, height: int | None = None, scale: float = PNG_SCALE
) -> bytes:
    """Render ``fig`` as PNG bytes with kaleido in a headless Chrome/Chromium.

    Size: ``width``/``height``, else the figure layout's, else ``PNG_WIDTH`` x ``PNG_HEIGHT``
    (layout pixels; ``scale`` multiplies them). Nothing is fetched from the network: plotly.js
    comes from the plotly package, MathJax is off and the base map is inlined. Raises
    :class:`CritminError` when kaleido or a browser is missing or rendering fails.
    """
    problem = png_export_problem()
    if problem is not None:
        raise CritminError(problem)
    try:
        import kaleido  # type: ignore[import-untyped]
        from kaleido.errors import ChromeNotFoundError  # type: ignore[import-untyped]
    except ImportError:
        raise CritminError(_NO_KALEIDO) from None

    opts = {
        "format": "png",
        "width": int(width or fig.layout.width or PNG_WIDTH),
        "height": int(height or fig.layout.height or PNG_HEIGHT),
        "scale": scale,
    }
    page = _OfflinePage(_geo_assets_script() if uses_geo(fig) else "")
    try:
        data = kaleido.calc_fig_sync(
            fig.to_dict(), opts=opts, kopts={"page_generator": page, "timeout": PNG_TIMEOUT_S}
        )
    except ChromeNotFoundError:
        raise CritminError(_NO_BROWSER) from None
    except Exception as exc:
        raise CritminError(
            f"PNG export failed ({type(exc).__name__}: {_first_line(exc)}). Fix: check that the browser "
            f"kaleido uses ({_find_browser() or 'none found'}) starts headless, or set BROWSER_PATH to "
            "another Chrome/Chromium; write the figure as .html meanwhile"
        ) from exc
    if not isinstance(data, bytes) or not data.startswith(PNG_SIGNATURE):
        raise CritminError("PNG export returned no PNG image. Fix: write the figure as .html instead")
    return data


def png_export_problem() -> str | None:
    """Why PNG export cannot work here (with the fix), or ``None`` when it should."""
    try:
        major = int(importlib.metadata.version("kaleido").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return _NO_KALEIDO
    if major < 1:
        return _NO_KALEIDO
    if _find_browser() is None:
        if os.environ.get("BROWSER_PATH"):
            return f"BROWSER_PATH={os.environ['BROWSER_PATH']!r} is not a file. {_NO_BROWSER}"
        return _NO_BROWSER
    return None


def png_export_available() -> bool:
    """True when :func:`to_png` has what it needs (kaleido >= 1 and a Chrome/Chromium)."""
    return png_export_problem() is None


# --------------------------------------------------------------------------- helpers
class _OfflinePage:
    """A kaleido page generator: plotly.js from the plotly package, no MathJax, base map inlined.

    kaleido writes the page into its own temporary folder (one a snap-packaged browser can
    read), so the base map goes inline rather than as a separate file.
    """

    def __init__(self, extra_head: str) -> None:
        from kaleido import PageGenerator

        self._base = PageGenerator(mathjax=False)
        self._extra = extra_head

    def generate_index(self, path: Path | None = None) -> str:
        """The page kaleido loads in its browser tab.

        kaleido >= 1.1 asks for the page's text; 1.0 passes a ``path`` to write it to and wants
        its URI back.
        """
        page = str(self._base.generate_index())
        if self._extra:
            page = page.replace("</title>", "</title>\n" + self._extra, 1)
        if path is None:
            return page
        Path(path).write_text(page, "utf-8")
        return Path(path).as_uri()


def _find_browser() -> str | None:
    """The Chrome/Chromium kaleido would use: BROWSER_PATH, the PATH, usual places, a local copy."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).is_file() else None
    try:
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
    except Exception:  # choreographer's API moved: fall back to the PATH
        found = None
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
            found = shutil.which(name)
            if found:
                break
    return str(found) if found and Path(found).is_file() else None


def uses_geo(fig: go.Figure) -> bool:
    return any(getattr(t, "type", None) in _GEO_TRACES for t in fig.data)


@cache
def _geo_assets_script() -> str:
    """A <script> that pre-loads the world base map where plotly.js looks before fetching it."""
    res = resources.files("critmin.report").joinpath(_WORLD_TOPOJSON)
    try:
        topo = res.read_text("utf-8")
    except (FileNotFoundError, OSError):
        _log.warning(
            "%s is missing from critmin.report: maps will fetch their base map online", _WORLD_TOPOJSON
        )
        return ""
    name = _WORLD_TOPOJSON.removesuffix(".json")
    payload = topo.strip().replace("</", "<\\/")
    return (
        "<script>window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};\n"
        f"window.PlotlyGeoAssets.topojson[{json.dumps(name)}] = {payload};</script>"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    Missing parent folders are created; the file gets the mode ``open()`` would give (the
    user's umask, or the bits of the file it replaces): :func:`critmin.atomic.atomic_path`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CritminError(
            f"{path}: cannot write ({exc.strerror or exc}). Fix: choose a writable folder"
        ) from exc
    atomic_write_bytes(path, data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no message"


__all__ = [
    "PNG_HEIGHT",
    "PNG_SCALE",
    "PNG_SIGNATURE",
    "PNG_WIDTH",
    "png_export_available",
    "png_export_problem",
    "to_html",
    "to_png",
    "write_figure",
]
