"""Optimisation: the CP-SAT matching model, flow relaxation and warm start, diagnosis."""
