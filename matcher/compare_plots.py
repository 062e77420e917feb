"""compare.png: one panel per compared figure, a bar per scenario (the first in grey), each
labelled with its value and its difference from the first."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt

from matcher.compare import FIGURES, cell, cell_with_difference

COLUMNS = 4
BASE_COLOUR, OTHER_COLOUR = "#9e9e9e", "#1f6fb2"


def plot_compare(rows: list[dict[str, Any]], path: Path) -> Path:
    names = [row["scenario"] for row in rows]
    panels = math.ceil(len(FIGURES) / COLUMNS)
    fig, axes = plt.subplots(
        panels,
        COLUMNS,
        figsize=(min(20.0, max(12.0, 0.8 * len(rows) * COLUMNS)), 4.2 * panels),
        squeeze=False,
    )
    flat = list(axes.flat)
    for ax, (figure, label) in zip(flat, FIGURES.items(), strict=False):
        _panel(ax, rows, names, figure, label)
    for ax in flat[len(FIGURES) :]:
        ax.axis("off")
    if len(flat) > len(FIGURES):  # a spare panel says which settings file each scenario ran
        legend = "\n".join(f"{row['scenario']}: {row['settings']}" for row in rows)
        flat[-1].text(0, 1, legend, va="top", fontsize=8, family="monospace")
    fig.suptitle(f"Scenarios against {names[0]} (grey): values, and differences in brackets")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _panel(ax: Any, rows: list[dict[str, Any]], names: list[str], figure: str, label: str) -> None:
    values = [row[figure] for row in rows]
    heights = [0 if v is None else v for v in values]
    colours = [BASE_COLOUR] + [OTHER_COLOUR] * (len(rows) - 1)
    bars = ax.bar(range(len(rows)), heights, color=colours)
    for k, (bar, row) in enumerate(zip(bars, rows, strict=True)):
        text = cell_with_difference(figure, row[figure], row[f"{figure}_diff"], k == 0)
        ax.annotate(
            text if row[figure] is not None else cell(figure, None),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    top = max([abs(h) for h in heights] + [0])
    ax.set_ylim(0, top * 1.18 if top else 1)
    ax.set_title(label, fontsize=9)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
