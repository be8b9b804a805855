"""``lcurve bench`` with the outside contenders (scikit-learn, PyTorch) added to the throughput
table: ``python experiments/benchmarks/run_bench.py [--quick] [--out DIR] [--sections ...]``
(same options as ``lcurve bench``; needs ``pip install -e ".[test,bench]"``)."""

import argparse
import sys
from pathlib import Path

from lcurve.bench import add_bench_parser, run_bench

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contenders import CONTENDERS  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="run_bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_bench_parser(sub)
    sys.exit(run_bench(parser.parse_args(["bench", *sys.argv[1:]]), contenders=CONTENDERS))
