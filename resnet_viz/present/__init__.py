"""Turning results into what a person reads: charts, tables, diagrams, readings, code, the tour."""
