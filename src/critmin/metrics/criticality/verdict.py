"""The EU method's verdict: whether SR and EI are assessed, the quadrant, and why a computed SR
differs from the EU 2023 published one (:mod:`critmin.metrics.criticality.eu` uses these)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from critmin.metrics.criticality.common import BASIS_DEFAULT


def quadrant_of(sr: float, ei: float, sr_thr: float, ei_thr: float) -> str | None:
    if math.isnan(sr) or math.isnan(ei):
        return None
    hi_sr, hi_ei = sr >= sr_thr, ei >= ei_thr
    if hi_sr and hi_ei:
        return "critical"
    if hi_sr:
        return "high SR, low EI"
    if hi_ei:
        return "high EI, low SR"
    return "low SR, low EI"


#: Below this EU import reliance the EU-sourcing term (weight 1 - IR/2 >= 0.6) dominates SR, so
#: standing in global supply for the EU's sourcing mix (no EU sourcing data bundled) makes SR an
#: upper bound rather than an estimate: the EU mostly sources such materials at home or nearby.
EU_SOURCING_PROXY_IR = 0.8


def sr_caveats(
    basis: Mapping[str, str], ir: float, stage: str | None, published: Mapping[str, Any] | None
) -> list[str]:
    """Why a computed EU SR is not a finding on its own (empty: it rests on data and published inputs).

    * an SR input (IR, EoL-RIR, SI_SR) is the neutral default;
    * EU sourcing is the global-supply proxy while the EU imports under ``EU_SOURCING_PROXY_IR``;
    * the EU 2023 study assessed another stage (extraction vs processing) than the data allow.
    """
    out = [f"{k} is the neutral default" for k in ("ir", "eol_rir", "si_sr") if basis.get(k) == BASIS_DEFAULT]
    if basis.get("hhi_wgi_eu") == BASIS_DEFAULT and ir < EU_SOURCING_PROXY_IR:
        out.append(
            "EU sourcing not in the data: global supply stands in for it, "
            f"weighted 1 - IR/2 = {1 - ir / 2:.2f}"
        )
    st_pub = published.get("stage_2023") if published else None
    if st_pub and stage:
        own = "extraction" if stage == "mining" else "processing"
        if own != st_pub:
            out.append(f"computed at {stage} ({own}); EU 2023 assessed {st_pub}")
    return out


def eu_verdict(
    sr: float, ei: float, sr_thr: float, ei_thr: float, *, sr_assessed: bool, ei_assessed: bool
) -> tuple[bool | None, str | None]:
    """(critical, quadrant). A verdict needs both coordinates assessed, except that one assessed
    coordinate below its threshold decides "not critical" on its own."""
    quadrant = quadrant_of(sr, ei, sr_thr, ei_thr)
    if quadrant is None:
        return None, None
    low_sr = sr_assessed and sr < sr_thr
    low_ei = ei_assessed and ei < ei_thr
    if (sr_assessed and ei_assessed) or low_sr or low_ei:
        return bool(sr >= sr_thr and ei >= ei_thr and sr_assessed and ei_assessed), quadrant
    missing = [n for n, ok in (("SR", sr_assessed), ("EI", ei_assessed)) if not ok]
    return None, f"insufficient data ({', '.join(missing)})"


def sr_difference(sr: float, pub_sr: float | None, why: list[str], sr_thr: float) -> str | None:
    """Why the computed SR differs from the EU 2023 published one (or rests on defaults)."""
    if not why and (pub_sr is None or abs(sr - pub_sr) < 0.5):
        return None
    head = f"computed SR {sr:.2f}" + (
        f" vs EU 2023 {pub_sr:.1f}" if pub_sr is not None else ", no EU 2023 SR"
    )
    if pub_sr is not None and (sr >= sr_thr) != (pub_sr >= sr_thr):
        head += " (opposite sides of SR 1)"
    reasons = why or ["data year and shares differ (EU 2023: 2016-2020 averages, EU perspective)"]
    return head + ": " + "; ".join(reasons)
