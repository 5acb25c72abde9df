"""Analyses built on runs: one-at-a-time (tornado) and Sobol' sensitivity, calibration on the
customs record, and the backtest of the 2025 controls.

Modules: :mod:`~critmin.simulate.analysis.sensitivity`, :mod:`~critmin.simulate.analysis.sobol`,
:mod:`~critmin.simulate.analysis.calibrate`, :mod:`~critmin.simulate.analysis.backtest`.
"""
