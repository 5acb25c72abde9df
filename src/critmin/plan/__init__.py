"""Response planning: price floors, stockpiles and (elsewhere) the planning model."""
