"""Response planning (issue 13): the least-cost mix of offtakes, co-financed projects,
stockpiles and price floors that meets a resilience target, optimised on the simulator's futures.

Modules (imported lazily; ``import critmin.plan`` loads nothing heavy):

* :mod:`~critmin.plan.economics`: the planning dataset (projects, costs);
* :mod:`~critmin.plan.floor`, :mod:`~critmin.plan.pricemodel`: price floors (``critmin floor``);
* :mod:`~critmin.plan.stockpile`: stockpile sizing through the simulator (``critmin stockpile``);
* :mod:`~critmin.plan.spec`: the PLAN.yaml schema (:class:`PlanSpec`, :func:`load_plan`);
* :mod:`~critmin.plan.futures`: futures sampled from the simulator (:func:`sample_futures`);
* :mod:`~critmin.plan.model`: the two-stage stochastic model in linopy (:class:`ModelInputs`);
* :mod:`~critmin.plan.solve`: solving with HiGHS, infeasibility in words (:func:`solve_plan`);
* :mod:`~critmin.plan.result`: :class:`PlanResult` and its tables;
* :mod:`~critmin.plan.value`: value of the stochastic solution and of perfect information;
* :mod:`~critmin.plan.frontier`: cost vs resilience frontier and near-optimal alternatives;
* :mod:`~critmin.plan.verify`: closed-loop replay of a plan in the simulator.
"""

from __future__ import annotations

from critmin.lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(
    __name__,
    {
        "PlanSpec": "critmin.plan.spec",
        "load_plan": "critmin.plan.spec",
        "solve_plan": "critmin.plan.solve",
        "PlanResult": "critmin.plan.result",
        "Status": "critmin.plan.result",
    },
)
