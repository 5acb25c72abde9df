"""Response planning (issue 13): the planning dataset (:mod:`critmin.plan.economics`), price
floors (:mod:`critmin.plan.floor`, :mod:`critmin.plan.pricemodel`), stockpile sizing
(:mod:`critmin.plan.stockpile`) and the planning model."""
