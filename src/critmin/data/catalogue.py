"""Sources: every figure in the bundled dataset resolves to one of these.

A :class:`Source` is a publication, a data release, a web page, or an *assumption* (a number
critmin had to fill in, with the rationale stated). ``sources.yaml`` in the bundled dataset holds
them; overlays add their own.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

SourceKind = Literal["dataset", "publication", "web", "derived", "assumption", "user"]
#: The values of :data:`SourceKind`, for option parsing and help texts.
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)


class Source(BaseModel):
    """Where a figure comes from: publisher, title, year, DOI/URL and licence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.:\-]*$")
    kind: SourceKind
    publisher: str
    title: str
    year: int | None = None
    url: str | None = None
    doi: str | None = None
    licence: str
    via: str | None = None
    """Mirror or carrier the figure was read from (repository@commit, syndicated copy)."""
    quality: str | None = None
    """Publisher-quality flag carried from the transcription (e.g. 'primary', 'low - Q&A page')."""
    priority: int = 0
    """Higher wins when two sources give the same cross-section (newer USGS vintage > older > BGS)."""
    rationale: str | None = None
    """For ``kind == 'assumption'``: why this number, and what would replace it."""
    notes: str | None = None

    @model_validator(mode="after")
    def _assumption_has_rationale(self) -> Source:
        if self.kind == "assumption" and not self.rationale:
            msg = f"source {self.id!r} is an assumption and needs a rationale"
            raise ValueError(msg)
        if self.kind != "assumption" and not (self.url or self.doi):
            msg = f"source {self.id!r} needs a url or doi"
            raise ValueError(msg)
        return self


def web_source_id(publisher: str, url: str) -> str:
    """Stable id for a web page source: ``web:<publisher-slug>:<8 hex of sha1(url)>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", publisher.lower()).strip("-")[:32] or "web"
    digest = hashlib.sha1(url.strip().encode("utf-8")).hexdigest()[:8]
    return f"web:{slug}:{digest}"
