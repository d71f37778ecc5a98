#!/usr/bin/env bash
# Times `mlopsc run` on bench/pipeline.kdl against the Python peer pipeline
# (../shared/bench/pipeline.py, pandas and polars engines) at 100k and 1M rows, alternating,
# RUNS times each, and prints a Markdown table of medians and ratios (see pipeline_bench.py).
#
# Prepare the peer once: ../shared/bench/setup.sh (venvs and data under $BENCH_WORK).
#
# usage: bench/run_pipeline_bench.sh            RUNS=3, SIZES="100k 1m"
#        RUNS=5 SIZES=100k bench/run_pipeline_bench.sh
# env:   BENCH_WORK (default ~/.cache/mlopsc-bench), PEER_BENCH (default ../shared/bench),
#        MLOPSC (default: target/release/mlopsc, built here)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${BENCH_WORK:-$HOME/.cache/mlopsc-bench}
peer=${PEER_BENCH:-$root/../shared/bench}

if [[ ! -x $work/venv/bin/python || ! -f $work/data/train_1m.csv ]]; then
  echo "run_pipeline_bench.sh: no peer setup in $work; run $peer/setup.sh first" >&2
  exit 2
fi
if [[ -z ${MLOPSC:-} ]]; then
  (cd "$root" && cargo build --release --quiet)
  MLOPSC=${CARGO_TARGET_DIR:-$root/target}/release/mlopsc
fi
# shellcheck disable=SC2086
exec python3 "$here/pipeline_bench.py" --work "$work" --peer "$peer" --mlopsc "$MLOPSC" \
  --spec "$here/pipeline.kdl" --runs "${RUNS:-3}" --sizes ${SIZES:-100k 1m}
