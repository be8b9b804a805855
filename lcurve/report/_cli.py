"""The ``lcurve report DIR`` sub-command (to be registered in :mod:`lcurve.cli`)::

    from lcurve.report._cli import add_report_parser, run_report
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_report_parser", "run_report"]


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """``lcurve report DIR [--out OUT]``: an HTML report of whatever DIR holds."""
    p = subparsers.add_parser(
        "report", help="write an HTML report (figures, tables, diagnostics) of a run folder")
    p.add_argument("dir", type=Path, help="run folder: a sweep, optionally fit.nc, tag.csv, "
                                          "latent/")
    p.add_argument("--out", type=Path, default=None, help="output folder (default DIR/report)")
    p.add_argument("--title", default=None, help="page title")
    p.set_defaults(func=run_report)
    return p


def run_report(args) -> int:
    """Write the report; print its path. Returns 2 when DIR does not exist."""
    import matplotlib

    matplotlib.use("Agg")
    from lcurve.report import write_report

    if not args.dir.is_dir():
        print(f"lcurve report: error: no run folder at {args.dir}")
        return 2
    path = write_report(args.dir, out_dir=args.out, title=args.title)
    print(f"report: {path}")
    return 0
