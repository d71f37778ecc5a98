#!/usr/bin/env python3
"""Writes breast_cancer.csv from the copy of the Wisconsin diagnostic breast cancer data that
scikit-learn ships (`sklearn/datasets/data/breast_cancer.csv`).

scikit-learn's file has a first line of counts and class names instead of a header, and codes
the class as 0 (malignant) or 1 (benign). This script writes the same 569 rows, values
unchanged, under a header of the 30 feature names of `sklearn.datasets.load_breast_cancer`
in snake_case (`mean_radius` … `worst_fractal_dimension`) and a boolean `malignant` label.
Python standard library only; see LICENSE.md for origin and licences.

Usage:
    python3 -m pip download --no-deps scikit-learn -d /tmp/skl
    unzip -o /tmp/skl/scikit_learn-*.whl 'sklearn/datasets/data/breast_cancer.csv' -d /tmp/skl
    python3 convert.py /tmp/skl/sklearn/datasets/data/breast_cancer.csv
"""

import csv
import sys
from pathlib import Path

MEASURES = [
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave_points", "symmetry", "fractal_dimension",
]
# scikit-learn's order: the ten means, the ten standard errors, the ten worst values.
FEATURES = (
    [f"mean_{measure}" for measure in MEASURES]
    + [f"{measure}_error" for measure in MEASURES]
    + [f"worst_{measure}" for measure in MEASURES]
)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(sys.argv[1])
    target = Path(__file__).resolve().parent / "breast_cancer.csv"
    with source.open(newline="") as file:
        rows = list(csv.reader(file))
    count, features, *classes = rows[0]
    if int(features) != len(FEATURES) or classes != ["malignant", "benign"]:
        print(f"{source}: unexpected first line {rows[0]}", file=sys.stderr)
        return 1
    data = rows[1:]
    if len(data) != int(count):
        print(f"{source}: {len(data)} rows, the first line says {count}", file=sys.stderr)
        return 1
    with target.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(FEATURES + ["malignant"])
        for row in data:
            *values, label = row
            writer.writerow(values + ["true" if label == "0" else "false"])
    print(f"wrote {len(data)} rows to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
