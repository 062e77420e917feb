"""Does the service keep answering while a round solves? And what does HTTP add to a solve?

Starts a real `matcher serve` over a fresh SQLite file, imports a shipped sample over HTTP,
and measures in the same run:

- `GET /health` latency with the service idle (the baseline), then while the round solves
  (the ratio should stay near 1: solving happens in a child process);
- the round's wall time from `POST .../run` to the job reading `done`, against the solver's
  own seconds in the stored summary (the difference is the job machinery and storage).

Run: `python -m benchmarks.run_service [--sample regional]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.serving import serve
from datasets.generator import sample_dir

PROBES = 100


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="regional", choices=("lmc", "regional", "national"))
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="service-bench-"))
    with (
        serve(f"sqlite:///{folder / 'bench.db'}", folder / "server.log") as server,
        httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as http,
    ):
        for kind in ("mentors", "mentees", "exclusions"):
            path = sample_dir(args.sample) / f"{kind}.csv"
            http.post(f"/api/{kind}/import", files={"file": (path.name, path.read_bytes())})
        body = {"name": "bench", "time_limit": args.time_limit}
        round_id = http.post("/api/rounds", json=body).json()["id"]

        def probe() -> float:
            started = time.perf_counter()
            http.get("/health")
            return time.perf_counter() - started

        idle = [probe() for _ in range(PROBES)]
        started = time.perf_counter()
        job_id = http.post(f"/api/rounds/{round_id}/run").json()["job_id"]
        busy = []
        while (job := http.get(f"/api/jobs/{job_id}").json())["status"] not in (
            "done",
            "failed",
        ):
            busy.append(probe())
            time.sleep(0.02)
        wall = time.perf_counter() - started
        summary = http.get(f"/api/rounds/{round_id}").json()["summary"]
    print(f"sample {args.sample}: job {job['status']}: {job['message']}")
    print(
        f"round wall time {wall:.2f} s; solver {summary['seconds']:.2f} s; ratio {wall / summary['seconds']:.2f}"
    )
    for name, values in (("idle", idle), ("solving", busy)):
        print(
            f"/health while {name}: median {_quantile(values, 0.5):.1f} ms, "
            f"p95 {_quantile(values, 0.95):.1f} ms, max {max(values) * 1000:.1f} ms (n={len(values)})"
        )
    print(f"median ratio solving/idle {_quantile(busy, 0.5) / _quantile(idle, 0.5):.2f}")


if __name__ == "__main__":
    main()
