"""Project events: a pipeline project's schedule moved, or a project the pipeline lacks added.

A chain's pipeline (``Network.projects``: the bundled projects table's plants that start after
the base year) gets each project's first output in month ``announced + D`` of the run, D the
drawn delay (``capacity.project_delay_months``, plus ``capacity.mine_extra_delay_months`` for
a new mine; :func:`critmin.simulate.assemble.engine_params`). A ``project`` event
(:class:`~critmin.simulate.inputs.events.ProjectEvent`) changes that from its month on:

    D' = M + s (D - M)              s = ``delay_spread``, M the delay's median
    D' = min(D', M)                 with ``delay_tail: cut`` (a price floor secures the financing)
    first output = max(A + D' - pull, e)

with A the announced start (the event's ``start`` when given), ``pull`` = ``pull_months`` and
e the event's month (a decision cannot move output before it is taken). Co-financing pulls
the start forward and narrows the delay's spread (s = 1/2 in ``critmin plan --verify``).
Several events for one project apply in date order, each to the schedule the earlier left.

An event with ``stage``, ``country`` and ``capacity_t_per_year`` adds a project
(:func:`with_added_projects`): appended to the pipeline in t/month of the stage's product, in
the stage's unit like every pipeline row (``assumption:sim-project-capacity-units``), and
marked ``added`` so that its delay is drawn after every other draw (the other projects' and
parameters' draws do not move). Nothing changes without project events.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from critmin.errors import DataError
from critmin.simulate.chains.network import Network, region_of
from critmin.simulate.inputs.events import Event, ProjectEvent

F = npt.NDArray[np.float64]
__all__ = ["project_events", "reschedule", "with_added_projects"]


def project_events(events: tuple[Event, ...]) -> list[ProjectEvent]:
    """The project events among ``events``, by date (then timeline order)."""
    out = [e for e in events if isinstance(e, ProjectEvent)]
    return sorted(out, key=lambda e: e.date)


def _month(d: dt.date, start: str) -> int:
    """Month index of ``d`` in a run starting ``start`` (YYYY-MM)."""
    return (d.year - int(start[:4])) * 12 + d.month - int(start[5:7])


def with_added_projects(net: Network, events: tuple[Event, ...], chain: str) -> Network:
    """``net`` with the projects its chain's project events add (``added`` column True), after
    checking that every rescheduled project is in the pipeline; unchanged without such events."""
    evs = project_events(events)
    if not evs:
        return net
    proj = net.projects
    names = list(proj["project"].astype(str))
    rows: list[dict[str, object]] = []
    for e in evs:
        if not e.adds:
            if e.project not in names and e.project not in {r["project"] for r in rows}:
                near = difflib.get_close_matches(e.project, names, n=3, cutoff=0.4)
                raise DataError(
                    f"project event {e.id!r}: {e.project!r} is not in the {chain} chain's pipeline",
                    column="project",
                    fix=(f"did you mean {', '.join(map(repr, near))}? " if near else "")
                    + "name a pipeline project (critmin.simulate.chains.plants.plant_table) or give "
                    "stage, country and capacity_t_per_year to add one",
                )
            continue
        if e.project in names or e.project in {r["project"] for r in rows}:
            raise DataError(
                f"project event {e.id!r}: {e.project!r} is already in the {chain} chain's pipeline",
                column="project",
                fix="leave out stage, country and capacity_t_per_year to reschedule it, or give a new name",
            )
        assert e.stage is not None
        assert e.country is not None
        assert e.capacity_t_per_year is not None
        if e.stage.value not in net.stages:
            raise DataError(
                f"project event {e.id!r}: the {chain} chain has no {e.stage.value!r} stage",
                column="stage",
                fix=f"use one of {list(net.stages)}",
            )
        begin = e.start or e.date
        rows.append(
            {
                "project": e.project,
                "stage": net.stages.index(e.stage.value),
                "region": net.regions.index(region_of(e.country, net.regions)),
                "capacity_t_month": e.capacity_t_per_year / 12.0,
                "start_year": begin.year + (begin.month - 1) / 12.0,
                "source_id": e.source_id or "",
            }
        )
    if not rows:
        return net
    base = proj.assign(added=False) if "added" not in proj.columns else proj
    extra = pd.DataFrame(rows).assign(added=True)
    return replace(net, projects=pd.concat([base, extra], ignore_index=True))


def reschedule(
    first_month: F,
    delay: F,
    median_delay: F,
    net: Network,
    events: tuple[Event, ...],
    start: str,
) -> F:
    """[P, Q] first-output months after the project events (module docstring).

    ``first_month`` [P, Q] = announced + drawn delay, ``delay`` [P, Q] the drawn delay D,
    ``median_delay`` [Q] its median M, ``start`` the run's first month (YYYY-MM).
    """
    evs = project_events(events)
    if not evs:
        return first_month
    names = list(net.projects["project"].astype(str))
    out = first_month.astype(np.float64, copy=True)
    d_now = delay.astype(np.float64, copy=True)
    announced = out - d_now
    for e in evs:
        j = names.index(e.project)
        m = float(median_delay[j])
        a = announced[:, j] if e.start is None else np.full(out.shape[0], float(_month(e.start, start)))
        d = m + e.delay_spread * (d_now[:, j] - m)
        if e.delay_tail == "cut":
            d = np.minimum(d, m)
        out[:, j] = np.maximum(a + d - e.pull_months, float(_month(e.date, start)))
        announced[:, j] = a - e.pull_months
        d_now[:, j] = d
    return out
