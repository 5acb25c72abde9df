"""The chain registry: every commodity chain the simulator runs, in one table.

A leaf module (no critmin imports), so that scenarios, the engine, reports and the CLI can ask
"which chains exist, what do their users consume, what is it called" without importing any
builder. Each :class:`ChainInfo` names its builder by import path; :func:`builder` imports it
on first use. A chain's optional parts are flags, not special cases in the callers:

* ``feed``: the id of a chain that feeds one of its stages (the rare-earth chain's Dy + Tb
  oxide, :mod:`critmin.simulate.chains.heavy`), stepped in the same month loop;
* ``sectors``: users' demand is split among end-use sectors (:mod:`critmin.simulate.engine.sectors`);
* ``price_floor``: price-floor events are costed (the floor's payer pays the top-up);
* ``value_parameter``: the parameter that values a tonne of the users' product (output at
  risk), drawn per path; chains without one are valued at their bundled US$/kg price;
* ``own_parameters``: "module:function" giving the chain's own parameter values, which win
  over the scenario's (the single chains' stockpile and recycling, in magnet units in the
  table, are set per chain; the feed's thrifting cap and price response).

Builders take ``(dataset, chain_id, regions, values)`` (the resolved parameter values, read at
their medians for network-level quantities) and return a
:class:`critmin.simulate.chains.network.ChainBuild`; a feed's builder also takes ``host=`` (the
host chain's network) and returns a :class:`critmin.simulate.chains.heavy.FeedNetwork`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ChainInfo:
    """One chain of the registry (see the module docstring)."""

    id: str
    title: str
    product: str
    product_title: str
    builder: str  # "module:function"
    #: whether a scenario can list it in ``commodities`` (a feed runs inside its host chain)
    standalone: bool = True
    feed: str | None = None
    sectors: bool = False
    price_floor: bool = False
    #: whether its demand substitutes by route (engine/prices.py: ferrite, Ce grades, redesign)
    substitution_routes: bool = False
    value_parameter: str | None = None
    own_parameters: str | None = None
    #: parameters whose medians the network is built from (network-level quantities)
    network_parameters: tuple[str, ...] = ()
    #: a feed's "module:function" marking the host timeline's events that reach it
    marks_events: str | None = None


_SINGLE = "critmin.simulate.chains.single:build"
_SINGLE_PARAMS = "critmin.simulate.chains.single:own_parameters"
CHAINS: dict[str, ChainInfo] = {
    c.id: c
    for c in (
        ChainInfo(
            id="rare_earths",
            title="Rare earths (mine to NdFeB magnet)",
            product="ndfeb_magnets",
            product_title="NdFeB magnets",
            builder="critmin.simulate.chains.rare_earths:build",
            feed="dy_tb",
            sectors=True,
            price_floor=True,
            substitution_routes=True,
            value_parameter="value.output_usd_per_kg_magnet",
            network_parameters=(
                "volume.mining_t_per_year",
                "volume.magnet_t_per_year",
                "volume.china_magnet_exports_t_per_year",
                "trade.us_share_of_china_magnet_exports",
            ),
        ),
        ChainInfo(
            id="gallium",
            title="Gallium",
            product="gallium_metal",
            product_title="Gallium metal",
            builder=_SINGLE,
            own_parameters=_SINGLE_PARAMS,
        ),
        ChainInfo(
            id="germanium",
            title="Germanium",
            product="germanium_metal",
            product_title="Germanium metal",
            builder=_SINGLE,
            own_parameters=_SINGLE_PARAMS,
        ),
        ChainInfo(
            id="graphite",
            title="Graphite",
            product="processed_graphite",
            product_title="Processed (anode-grade) graphite",
            builder=_SINGLE,
            own_parameters=_SINGLE_PARAMS,
        ),
        ChainInfo(
            id="antimony",
            title="Antimony",
            product="refined_antimony",
            product_title="Refined antimony",
            builder=_SINGLE,
            own_parameters=_SINGLE_PARAMS,
        ),
        ChainInfo(
            id="tungsten",
            title="Tungsten",
            product="tungsten",
            product_title="Tungsten",
            builder=_SINGLE,
            own_parameters=_SINGLE_PARAMS,
        ),
        ChainInfo(
            id="dy_tb",
            title="Dy + Tb oxide (the magnet makers' heavy rare-earth feed)",
            product="dy_tb_oxide",
            product_title="Dy + Tb oxide for magnet makers (heavy rare-earth feed)",
            builder="critmin.simulate.chains.heavy:build",
            standalone=False,
            own_parameters="critmin.simulate.chains.heavy:own_parameters",
            marks_events="critmin.simulate.chains.heavy:feed_timeline",
            network_parameters=("heavy.grade_share", "heavy.dy_tb_t_per_year"),
        ),
    )
}
#: Chains a scenario can list in ``commodities``.
CHAIN_IDS: tuple[str, ...] = tuple(c.id for c in CHAINS.values() if c.standalone)
#: The rare-earth chain's feed (events may name it in ``commodities``).
FEED_ID = "dy_tb"
#: Every id an event may name (the chains and the feeds they carry).
EVENT_CHAIN_IDS: tuple[str, ...] = tuple(CHAINS)
#: Display names of the summary rows' products (tables, figure titles).
PRODUCT_TITLES: dict[str, str] = {c.product: c.product_title for c in CHAINS.values()}


class UnknownChainError(KeyError):
    """A chain id that is not in the registry (callers turn it into a one-line error)."""


def chain_info(chain_id: str) -> ChainInfo:
    """The registry entry of ``chain_id``; :class:`UnknownChainError` names the known ids."""
    try:
        return CHAINS[chain_id]
    except KeyError:
        raise UnknownChainError(f"unknown chain {chain_id!r}; use one of {', '.join(CHAINS)}") from None


def is_feed(chain_id: str) -> bool:
    """Whether ``chain_id`` is a feed (runs inside a host chain, not on its own)."""
    return chain_id in CHAINS and not CHAINS[chain_id].standalone


def host_of(feed_id: str) -> ChainInfo | None:
    """The chain that carries feed ``feed_id`` (None for a standalone chain)."""
    return next((c for c in CHAINS.values() if c.feed == feed_id), None)


def product_title(product: str) -> str:
    """Display name of a summary row's product (``ndfeb_magnets:wind`` -> ``NdFeB magnets: wind``)."""
    base, _, sector = product.partition(":")
    title = PRODUCT_TITLES.get(base, base)
    return f"{title}: {sector.replace('_', ' ')}" if sector else title


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def builder(chain_id: str) -> Callable[..., Any]:
    """The builder function of ``chain_id``, imported on first use."""
    return _resolve(chain_info(chain_id).builder)


def feed_events(chain_id: str, timeline: tuple[Any, ...]) -> tuple[Any, ...]:
    """The host timeline with the events that reach feed ``chain_id`` marked (unchanged for a
    chain without the hook)."""
    path = chain_info(chain_id).marks_events
    if path is None:
        return timeline
    out: tuple[Any, ...] = _resolve(path)(timeline)
    return out


def own_parameters(chain_id: str) -> dict[str, Any]:
    """The chain's own parameter values (empty when it has none), read on first use."""
    path = chain_info(chain_id).own_parameters
    if path is None:
        return {}
    out: dict[str, Any] = _resolve(path)(chain_id)
    return out
