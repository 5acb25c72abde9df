"""What a run is made of: the parameter table, scenarios (with their events) and the compiled policy.

Modules: :mod:`~critmin.simulate.inputs.params` (``parameters.yaml``, distributions),
:mod:`~critmin.simulate.inputs.scenario` (YAML scenarios, the bundled history and scenarios),
:mod:`~critmin.simulate.inputs.policy` (a scenario's timeline compiled to what the engine reads).
"""
