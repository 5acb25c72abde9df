"""The commodity chains the simulator runs: the registry and each chain's network builder.

Modules: :mod:`~critmin.simulate.chains.registry` (chain ids, products, titles, builders; a leaf),
:mod:`~critmin.simulate.chains.network` (the :class:`Network` every builder returns, region
helpers), :mod:`~critmin.simulate.chains.rare_earths` (the four-stage magnet chain),
:mod:`~critmin.simulate.chains.heavy` (its Dy + Tb feed), :mod:`~critmin.simulate.chains.single`
(gallium, germanium, graphite, antimony, tungsten).
"""
