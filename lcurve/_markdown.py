"""Markdown pipe tables for the text outputs of the analyses (summaries, RESULTS files).

pandas' ``DataFrame.to_markdown`` needs the optional ``tabulate``; this is the one home of the
small formatter every command line and experiment script uses instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["markdown_table"]


def markdown_table(table: pd.DataFrame, *, digits: int = 3) -> str:
    """A DataFrame as a markdown pipe table: floats to ``digits`` significant digits, NaN blank.

    Example
    -------
    >>> print(markdown_table(pd.DataFrame({"task": ["a"], "auroc": [0.81234], "sd": [np.nan]})))
    | task | auroc | sd |
    |---|---|---|
    | a | 0.812 |  |
    """
    def cell(value) -> str:
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.{digits}g}"
        return str(value)

    lines = ["| " + " | ".join(str(c) for c in table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in table.itertuples(index=False)]
    return "\n".join(lines)
