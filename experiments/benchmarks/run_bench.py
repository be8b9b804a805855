"""Run ``lcurve bench`` without the CLI wiring: ``python experiments/benchmarks/run_bench.py
[--quick] [--out DIR] [--sections ...]`` (same options as ``lcurve bench``)."""

import argparse
import sys

from lcurve.bench import add_bench_parser, run_bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="run_bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_bench_parser(sub)
    sys.exit(run_bench(parser.parse_args(["bench", *sys.argv[1:]])))
