"""Response planning (issue 13). :mod:`critmin.plan.economics` holds the planning dataset."""
