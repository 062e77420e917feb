"""Solve a round in a child process, so the web process keeps answering while it works.

The solver's Python parts hold the GIL; a child process (forked from a fork server that has
already imported the solver, so it starts in milliseconds) leaves the service free. The web
process itself never imports the solver (OR-Tools and pandas are 80 MB it does not need).
Progress lines and the result come back over a pipe; a child that dies is reported, not
waited for.

A round's time limit bounds the job from its start: the child is given a deadline on the
monotonic clock (shared by every process of the machine) and solves for what is left of it
when it begins, less the time storing the result takes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from matcher.data import ProblemData
from matcher.export import solve_seconds, work_limit
from solver.result import Result

# Beyond the time limit the solver may need a moment to stop and send its answer.
GRACE_SECONDS = 60.0
# How soon a solve whose worker is gone notices and ends.
PARENT_CHECK_SECONDS = 1.0
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["service.solving", "solver.solve"])


class SolveFailed(RuntimeError):
    """The solve raised, or its process died or overran; the message says which."""


class SolveCancelled(SolveFailed):
    """The caller asked the solve to stop; its process was ended."""


def _child(
    conn: Connection,
    problem: ProblemData,
    started: float,
    time_limit: float,
    seed: int,
    parent: int,
) -> None:
    from solver.solve import solve  # preloaded by the fork server: no cost here

    _die_with_parent(parent)
    try:
        result = solve(
            problem,
            time_limit=solve_seconds(time_limit, time.monotonic() - started, problem),
            work_limit=work_limit(time_limit, problem),
            seed=seed,
            progress=lambda line: conn.send(("progress", line)),
        )
        conn.send(("result", result))
    except BaseException as exc:  # the parent must hear of every failure
        # The parent may have stopped listening (the run was stopped): nobody to tell.
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _die_with_parent(parent: int) -> None:
    """End this solve once the process that asked for it (the worker) is gone, killed or
    not: a lost worker's solve must not search on for up to its time limit with nobody to
    hear the answer. (The fork server this child comes from outlives the worker.)"""

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if not _alive(parent):
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a killed process not yet reaped by its own parent is a zombie
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def solve_in_child(
    problem: ProblemData,
    *,
    time_limit: float,
    seed: int = 0,
    on_progress: Callable[[str], None] = lambda line: None,
    started: float | None = None,
    cancelled: threading.Event | None = None,
) -> Result:
    """``solver.solve`` in a child process; raises SolveFailed with the reason.

    ``time_limit`` counts from ``started`` (a ``time.monotonic()`` reading, by default now):
    the job's reading, solving and storing together. Once ``cancelled`` is set, the child is
    ended within a quarter of a second and SolveCancelled raised."""
    begun = time.monotonic() if started is None else started
    args = (problem, begun, time_limit, seed, os.getpid())
    answer = _run_child(_child, args, begun + time_limit, on_progress, cancelled)
    return _result(answer)


def call_in_child(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    time_limit: float,
    on_progress: Callable[[str], None] = lambda line: None,
    started: float | None = None,
    cancelled: threading.Event | None = None,
) -> Any:
    """``function(*args, progress=...)`` in a child process, as ``solve_in_child`` runs a
    solve (a module-level function whose answer pickles: the analysts' plans)."""
    begun = time.monotonic() if started is None else started
    call = (function, args, os.getpid())
    return _run_child(_call_child, call, begun + time_limit, on_progress, cancelled)


def _call_child(
    conn: Connection, function: Callable[..., Any], args: tuple[Any, ...], parent: int
) -> None:
    _die_with_parent(parent)
    try:
        answer = function(*args, progress=lambda line: conn.send(("progress", line)))
        conn.send(("result", answer))
    except BaseException as exc:  # the parent must hear of every failure
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _run_child(
    target: Callable[..., None],
    args: tuple[Any, ...],
    due: float,
    on_progress: Callable[[str], None],
    cancelled: threading.Event | None,
) -> Any:
    """Start ``target(sender, *args)`` in a child and relay its progress until its answer;
    past ``due`` (monotonic) and a grace, or once ``cancelled``, the child is ended."""
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(target=target, args=(sender, *args), daemon=True)
    process.start()
    sender.close()
    deadline = due + GRACE_SECONDS
    try:
        while True:
            if time.monotonic() > deadline:
                raise SolveFailed(
                    f"the solver did not stop within {GRACE_SECONDS:.0f} s of its limit"
                )
            if cancelled is not None and cancelled.is_set():
                raise SolveCancelled("stopped on request")
            if not receiver.poll(0.25):
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError:
                process.join(5)
                raise SolveFailed(
                    f"the solver process ended without an answer (exit code {process.exitcode})"
                ) from None
            if kind == "progress":
                on_progress(str(payload))
            elif kind == "result":
                return payload
            else:
                raise SolveFailed(str(payload))
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join(5)


def _result(payload: Any) -> Result:
    if not isinstance(payload, Result):
        raise SolveFailed(f"the solver sent {type(payload).__name__}, not a result")
    return payload
