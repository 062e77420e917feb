"""CP-SAT through OR-Tools' compiled helper, without ``ortools.sat.python.cp_model``.

``cp_model`` imports pandas at load (a quarter of a second and 30 MB, more than the whole
solve of a small round) for DataFrame helpers this project does not use: ``solver.model``
writes its model straight into the proto. This module gives the few pieces a solve needs —
the proto, the parameters, a solution callback and the solve itself — from
``cp_model_helper``, the extension ``cp_model`` is built on. ``solver.diagnose`` still uses
``cp_model``'s builder, loaded only when an infeasible round is explained.
"""

from __future__ import annotations

from ortools.sat.python import cp_model_helper as _helper

CpModelProto = _helper.CpModelProto
CpSolverResponse = _helper.CpSolverResponse
SatParameters = _helper.SatParameters
Status = _helper.CpSolverStatus
OPTIMAL = Status.OPTIMAL
FEASIBLE = Status.FEASIBLE
INFEASIBLE = Status.INFEASIBLE
UNKNOWN = Status.UNKNOWN


class SolutionCallback(_helper.SolutionCallback):
    """Called on every solution the search finds: override ``on_solution``."""

    def on_solution(self) -> None:
        raise NotImplementedError

    def OnSolutionCallback(self) -> None:  # the name the extension calls
        self.on_solution()

    @property
    def objective_value(self) -> float:
        return float(self.ObjectiveValue())

    def stop_search(self) -> None:
        self.StopSearch()


def solve(
    model: CpModelProto, parameters: SatParameters, callback: SolutionCallback | None = None
) -> CpSolverResponse:
    """Solve ``model``; the response holds the status, the solution and the bound."""
    wrapper = _helper.SolveWrapper()
    wrapper.set_parameters(parameters)
    if callback is not None:
        wrapper.add_solution_callback(callback)
    try:
        return wrapper.solve(model)
    finally:
        if callback is not None:
            wrapper.clear_solution_callback(callback)
