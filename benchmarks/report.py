"""Turn ``metrics.csv`` and ``equity.csv`` into ``report.md`` with three plots beside it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt

from benchmarks.quality import EQUITY_GAP, EQUITY_METHOD, read_csv
from benchmarks.run_matching import machine

Row = dict[str, str]
ORDER = ("random", "greedy", "min_cost_flow", "gale_shapley", "cpsat", EQUITY_METHOD)


def _num(value: str | None) -> float | None:
    if value in (None, "", "None"):
        return None
    return float(value)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _methods(rows: Sequence[Row]) -> list[str]:
    present = {r["method"] for r in rows}
    return [m for m in ORDER if m in present]


def _mean(rows: Sequence[Row], key: str) -> float | None:
    values = [v for r in rows if (v := _num(r.get(key))) is not None]
    return mean(values) if values else None


def _share(r: Row, part: str, whole: str) -> float | None:
    p, w = _num(r.get(part)), _num(r.get(whole))
    return None if p is None or not w else p / w


def write_report(out_dir: Path, command: str) -> Path:
    rows = list(read_csv(out_dir / "metrics.csv"))
    equity_path = out_dir / "equity.csv"
    equity_rows = list(read_csv(equity_path)) if equity_path.exists() else []
    methods = _methods(rows)
    plots = [
        _plot_quality(rows, methods, out_dir / "quality_by_method.png"),
        _plot_time(rows, methods, out_dir / "time_against_size.png"),
        _plot_equity(equity_rows, methods, out_dir / "equity_by_group.png"),
    ]
    info = machine()
    lines = [
        "# Match quality by method",
        "",
        f"`{command}` on {info['date']}: {info['cores']} cores ({info['cpu']}), Python "
        f"{info['python']}, OR-Tools {info['ortools']}.",
        "",
        "Every method's pairs go through the same rule check (`valid`: no hard rule broken, "
        "mentors' minimums included) and the same metrics (`matcher.metrics`). `cpsat` is our "
        f"matcher; `{EQUITY_METHOD}` is our matcher with `rules.equity_max_gap = {EQUITY_GAP}` "
        "(run on the tight instances, where there are fewer places than mentees).",
        "",
        "## Summary over all instances",
        "",
        "| method | valid | matched | fellows matched | mean score | score vs cpsat | "
        "blocking pairs (score) | load std | equity gap | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours = {r["instance"]: r for r in rows if r["method"] == "cpsat"}
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        valid = sum(r["valid"] == "True" for r in mine)
        ratios = [
            s / o
            for r in mine
            if r["instance"] in ours
            and (s := _num(r["total_score"])) is not None
            and (o := _num(ours[r["instance"]]["total_score"]))
        ]
        lines.append(
            f"| {method} | {valid}/{len(mine)} "
            f"| {_fmt(_mean_share(mine, 'matched', 'mentees'), 3)} "
            f"| {_fmt(_mean_share(mine, 'fellows_matched', 'fellows'), 3)} "
            f"| {_fmt(_mean(mine, 'mean_score'))} | {_fmt(mean(ratios) if ratios else None, 3)} "
            f"| {_fmt(_mean(mine, 'blocking_pairs'), 1)} | {_fmt(_mean(mine, 'load_std'))} "
            f"| {_fmt(_mean(mine, 'equity_gap_limited'), 3)} | {_fmt(_mean(mine, 'seconds'))} |"
        )
    lines += [
        "",
        "`matched` and `fellows matched` are shares of the mentees and of the GP Fellows; "
        "`score vs cpsat` is the total pair score as a share of ours on the same instance; "
        "`equity gap` is the largest amount by which a group's match rate (gender, ethnicity or "
        "IMG; groups of 5 or more) falls below the whole; the per-instance tables also give the "
        "gap with cohorts, where our matcher's is wide by design (GP Fellows come first). "
        f"`{EQUITY_METHOD}` runs only on the tight instances: compare it with `cpsat` in the "
        "equity table below, not in this average.",
        "",
        f"![Quality by method]({plots[0].name})",
        "",
        f"![Time against size]({plots[1].name})",
        "",
        f"![Equity by group]({plots[2].name})",
        "",
    ]
    lines += _equity_section(rows)
    lines += ["## Every instance", ""]
    by_instance: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_instance[r["instance"]].append(r)
    for instance, mine in by_instance.items():
        first = mine[0]
        lines += [
            f"### {instance} ({first['mentors']} mentors, {first['mentees']} mentees)",
            "",
            "| method | valid | violations | matched | fellows | mean score | std | first choice "
            "| top 3 | blocking (score) | blocking (stated) | load std | mix practice | mix cohort "
            "| equity gap | equity gap with cohorts | seconds |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sorted(mine, key=lambda r: ORDER.index(r["method"])):
            lines.append(
                f"| {r['method']} | {r['valid']} | {r['violations']} | {r['matched']} "
                f"| {r['fellows_matched']}/{r['fellows']} | {_fmt(_num(r['mean_score']))} "
                f"| {_fmt(_num(r['score_std']))} | {_fmt(_num(r['first_choice_share']), 3)} "
                f"| {_fmt(_num(r['top3_share']), 3)} | {r['blocking_pairs']} "
                f"| {r['blocking_pairs_stated']} | {_fmt(_num(r['load_std']))} "
                f"| {_fmt(_num(r['mix_practice']), 3)} | {_fmt(_num(r['mix_cohort']), 3)} "
                f"| {_fmt(_num(r['equity_gap_limited']), 3)} "
                f"| {_fmt(_num(r['equity_gap']), 3)} ({r['equity_gap_group'] or '–'}) "
                f"| {_fmt(_num(r['seconds']))} |"
            )
        lines.append("")
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def _mean_share(rows: Sequence[Row], part: str, whole: str) -> float | None:
    values = [s for r in rows if (s := _share(r, part, whole)) is not None]
    return mean(values) if values else None


def _equity_section(rows: Sequence[Row]) -> list[str]:
    pairs = []
    for r in rows:
        if r["method"] != EQUITY_METHOD:
            continue
        base = next(
            (b for b in rows if b["instance"] == r["instance"] and b["method"] == "cpsat"), None
        )
        if base is not None:
            pairs.append((base, r))
    if not pairs:
        return []
    lines = [
        "## The price of the equity limit",
        "",
        f"Our matcher with and without `rules.equity_max_gap = {EQUITY_GAP}` on the tight "
        "instances. The gap counts gender, ethnicity and IMG groups, which the limit covers "
        "(the cohort gap is by design: GP Fellows come first). Our objective is lexicographic "
        "(fellows matched, mentees matched, days waited by those matched, then pair quality), "
        "so the limit's price appears at the first level it has to give up.",
        "",
        "| instance | gap without | gap with | matched without | matched with | days waited "
        "without | days waited with | total score without | total score with | score kept "
        "| seconds without | seconds with |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for base, fair in pairs:
        kept = (_num(fair["total_score"]) or 0) / (_num(base["total_score"]) or 1)
        lines.append(
            f"| {base['instance']} | {_fmt(_num(base['equity_gap_limited']), 3)} "
            f"| {_fmt(_num(fair['equity_gap_limited']), 3)} | {base['matched']} | {fair['matched']} "
            f"| {base['waiting_days']} | {fair['waiting_days']} "
            f"| {base['total_score']} | {fair['total_score']} | {kept:.4f} "
            f"| {_fmt(_num(base['seconds']))} | {_fmt(_num(fair['seconds']))} |"
        )
    return [*lines, ""]


def _plot_quality(rows: Sequence[Row], methods: list[str], path: Path) -> Path:
    instances = list(dict.fromkeys(r["instance"] for r in rows))
    fig, axes = plt.subplots(2, 1, figsize=(max(8, len(instances) * 1.2), 7), sharex=True)
    width = 0.8 / max(1, len(methods))
    for k, method in enumerate(methods):
        by = {r["instance"]: r for r in rows if r["method"] == method}
        xs = [i + k * width for i in range(len(instances))]
        axes[0].bar(
            xs,
            [_share(by[i], "matched", "mentees") or 0 if i in by else 0 for i in instances],
            width,
            label=method,
        )
        axes[1].bar(
            xs, [_num(by[i]["mean_score"]) or 0 if i in by else 0 for i in instances], width
        )
    axes[0].set_ylabel("share of mentees matched")
    axes[0].set_ylim(0, 1.05)
    axes[1].set_ylabel("mean pair score")
    axes[1].set_xticks([i + 0.4 - width / 2 for i in range(len(instances))])
    axes[1].set_xticklabels(instances, rotation=30, ha="right", fontsize=8)
    axes[0].legend(fontsize=8, ncol=3)
    axes[0].set_title("Quality by method")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_time(rows: Sequence[Row], methods: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in methods:
        mine = sorted(
            (int(r["mentees"]), _num(r["seconds"]) or 0.0) for r in rows if r["method"] == method
        )
        ax.plot([m for m, _ in mine], [max(s, 1e-3) for _, s in mine], "o-", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mentees")
    ax.set_ylabel("seconds (wall)")
    ax.set_title("Time against size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_equity(rows: Sequence[Row], methods: list[str], path: Path) -> Path:
    """Match-rate gap per group, on the instance where the methods differ most."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if rows:
        by_instance: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_instance[r["instance"]].append(r)
        instance = max(
            by_instance,
            key=lambda i: max(abs(_num(r["rate_gap"]) or 0) for r in by_instance[i]),
        )
        mine = by_instance[instance]
        groups = list(dict.fromkeys(f"{r['attribute']}={r['group']}" for r in mine))
        width = 0.8 / max(1, len(methods))
        for k, method in enumerate(methods):
            gap = {
                f"{r['attribute']}={r['group']}": _num(r["rate_gap"]) or 0
                for r in mine
                if r["method"] == method
            }
            ax.bar(
                [g + k * width for g in range(len(groups))],
                [gap.get(g, 0) for g in groups],
                width,
                label=method,
            )
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
        ax.set_xticklabels(groups, rotation=40, ha="right", fontsize=7)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("overall match rate − group's")
        ax.set_title(f"Equity by group ({instance}): above 0, the group does worse")
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
