#!/usr/bin/env python3
"""Writes a synthetic mlops.kdl with about N plan steps, for benchmarking `mlopsc check`.

Each pipeline is a dataset (ingest + validate), a transform, a split, a train, an evaluate,
a register and a package: 8 plan steps. The output is deterministic for a given N.
"""
import sys


def pipeline(index: int) -> str:
    columns = "\n".join(f"        f{c} float min=0" for c in range(16))
    return f"""
dataset "data{index}" {{
    source "data/part{index}.csv"
    schema {{
        id string unique=#true
        age int min=18 max=110 nullable=#true
        tier category {{ levels "basic" "pro" "enterprise"; }}
{columns}
        label bool
    }}
    expect row-count min=100
    expect null-fraction "age" max=0.1
}}

transform "features{index}" from="data{index}" {{
    drop "id"
    impute "age" strategy="median"
    one-hot "tier"
    derive "ratio" "f0 / (f1 + 1) + log(f2 + 1)"
    filter "age >= 18 and f3 >= 0"
    scale "f4" "f5" "ratio" method="standard"
}}

split "holdout{index}" from="features{index}" train=0.7 valid=0.15 test=0.15 stratify="label" seed={index}

train "model{index}" data="holdout{index}.train" label="label" {{
    xgboost objective="binary:logistic" rounds=(param)"rounds" max_depth=6 eta=0.1 early-stopping=20
}}

evaluate "model{index}" data="holdout{index}.test" {{
    metrics "auc" "f1" "accuracy"
    gate "auc" min=(param)"min-auc"
}}

register "registry{index}" model="model{index}" alias="staging"

package "registry{index}" format="bundle"
"""


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pipelines = max(1, steps // 8)
    parts = ['project "synthetic" version="1.0.0"\n', "params {\n    rounds 200\n    min-auc 0.7\n}\n"]
    parts.extend(pipeline(index) for index in range(pipelines))
    sys.stdout.write("".join(parts))


if __name__ == "__main__":
    main()
