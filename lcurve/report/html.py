"""Minimal HTML building blocks for the report: escaped text, tables, figures, notes.

The report is one ``index.html`` with inline CSS and figures saved as PNG files in
``figures/`` next to it (relative links), so the folder can be copied or zipped as a whole and
opened without a server or network access.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Page", "table_html", "escape"]

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { border-bottom: 2px solid #345; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; color: #234; }
table { border-collapse: collapse; font-size: 0.85em; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: 2px 7px; text-align: right; }
th { background: #eef2f6; }
td.text, th.text { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
.note { background: #f4f6f8; border-left: 4px solid #99a; padding: .4em .8em; }
.warning { background: #fff4e5; border-left: 4px solid #e69500; padding: .4em .8em; }
.ok { background: #eef8ee; border-left: 4px solid #4a4; padding: .4em .8em; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: 0.8em; }
nav { font-size: 0.9em; }
nav a { margin-right: 1em; }
h1 { margin-bottom: .2em; }
.subtitle { color: #555; margin-top: 0; font-size: 0.9em; }
#findings + .findings { margin-top: .4em; }
.findings { border: 1px solid #d5dde6; border-radius: 4px; padding: .3em .8em; background: #fbfcfd; }
.finding { display: grid; grid-template-columns: 8.5em 1fr; gap: .6em; padding: .35em 0;
           border-bottom: 1px solid #e8edf2; }
.finding:last-child { border-bottom: none; }
.finding h3 { margin: .1em 0; font-size: .95em; color: #234; }
.finding ul { margin: 0; padding-left: 1.1em; }
.finding li { margin: .15em 0; }
li.f-warning { background: #fff4e5; }
li.f-note { color: #555; }
li.f-ok::marker { color: #4a4; }
li.f-warning::marker { color: #e69500; }
details { margin: .8em 0; }
summary { cursor: pointer; color: #345; }
"""


def escape(text) -> str:
    return html.escape(str(text))


def _cell(value, digits: int) -> tuple[str, str]:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return escape(value), ""
        return f"{value:.{digits}g}" if abs(value) >= 1e4 or abs(value) < 1e-3 and value != 0 \
            else f"{value:.{digits}f}", ""
    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return escape(value), ""
    return escape(value), "text"


def table_html(table: pd.DataFrame, *, digits: int = 3, max_rows: int = 30,
               index: bool = False) -> str:
    """An HTML table of ``table`` (first ``max_rows`` rows; the rest counted)."""
    frame = table.reset_index() if index else table
    head = "".join(f"<th class='text'>{escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = []
        for value in row:
            text, cls = _cell(value, digits)
            cells.append(f"<td class='{cls}'>{text}</td>" if cls else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p class='note'>{len(frame) - max_rows} more rows not shown.</p>"
            if len(frame) > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


class Page:
    """Accumulates report sections; figures are saved under ``folder/figures``."""

    def __init__(self, folder: Path, title: str):
        self.folder = Path(folder)
        self.figures = self.folder / "figures"
        self.title = title
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []

    def section(self, anchor: str, title: str) -> None:
        self.toc.append((anchor, title))
        self.parts.append(f"<h2 id='{escape(anchor)}'>{escape(title)}</h2>")

    def text(self, text: str, *, kind: str | None = None) -> None:
        cls = f" class='{kind}'" if kind else ""
        self.parts.append(f"<p{cls}>{escape(text)}</p>")

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{escape(text)}</pre>")

    def open_details(self, summary: str) -> None:
        """Start a collapsed block (HTML ``<details>``); end it with :meth:`close_details`."""
        self.parts.append(f"<details><summary>{escape(summary)}</summary>")

    def close_details(self) -> None:
        self.parts.append("</details>")

    def table(self, table: pd.DataFrame, **options) -> None:
        self.parts.append(table_html(table, **options))

    def figure(self, fig, name: str, caption: str, *, dpi: int = 110) -> Path:
        """Save ``fig`` as ``figures/<name>.png``, link it, close it; returns the PNG path."""
        import matplotlib.pyplot as plt

        self.figures.mkdir(parents=True, exist_ok=True)
        path = self.figures / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        self.parts.append(f"<figure><img src='figures/{escape(path.name)}' alt='{escape(caption)}'>"
                          f"<figcaption>{escape(caption)}</figcaption></figure>")
        return path

    def render(self, *, subtitle: str = "") -> str:
        nav = " ".join(f"<a href='#{escape(a)}'>{escape(t)}</a>" for a, t in self.toc)
        sub = f"<p class='subtitle'>{escape(subtitle)}</p>" if subtitle else ""
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{escape(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<h1>{escape(self.title)}</h1>{sub}<nav>{nav}</nav>{''.join(self.parts)}"
                "</body></html>\n")
