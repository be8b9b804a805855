"""Screenshot the top of an lcurve HTML report with headless Chromium (README's picture).

Usage (after ``lcurve demo``)::

    python experiments/report/screenshot.py lcurve_runs/demo/report/index.html \
        --out docs/report_top.png

Needs a Chromium binary (Debian: ``apt-get install chromium``); nothing else is installed or
downloaded. The page is opened from disk as ``file://`` (the report needs no network).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium found: install it (Debian: apt-get install chromium)")


def screenshot(page: Path, out: Path, *, width: int, height: int, scale: float) -> Path:
    """Write a ``width x height`` CSS-pixel screenshot of ``page`` to ``out`` (PNG)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--hide-scrollbars", "--disable-background-networking", "--disable-sync",
               "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", f"--force-device-scale-factor={scale}",
               "--virtual-time-budget=10000", f"--screenshot={out.resolve()}",
               page.resolve().as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="report index.html")
    parser.add_argument("--out", type=Path, default=Path("docs/report_top.png"))
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="device scale factor")
    args = parser.parse_args()
    if not args.page.is_file():
        sys.exit(f"no report at {args.page}; run `lcurve demo` first")
    path = screenshot(args.page, args.out, width=args.width, height=args.height,
                      scale=args.scale)
    print(f"screenshot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
