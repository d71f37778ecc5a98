#!/usr/bin/env python3
"""Writes the house-prices example's data: sales/2024-MM.csv (one file per month of 2024) and
incoming/sales-2025-01.csv.

Deterministic (fixed seed, Python standard library only): running it again gives the same
bytes. The CSV files are committed, so nothing needs to run this before `mlopsc run`.

A sale price is built from what buyers pay for: floor area at a price per square foot that
depends on the zipcode, the condition and the age of the home, plus the lot, a pool, garage
spaces and bathrooms, a small market trend over the year, and 3.5% of noise. So the
features carry most of the signal: a gradient-boosted regressor reaches an R² around 0.97, an
RMSE of $24,000–$33,000 and an MAE near $19,000 on held-out sales, inside the spec's gates
(R² ≥ 0.85, RMSE ≤ $45,000, MAE ≤ $30,000).

About a fifth of the listings are condos without a lot (`lot_size` empty), some garages are
unknown, a few homes were sold before they were finished (`year_built` after the sale year,
which the transform filters out), and a third of the listings have no text.

The incoming file is January 2025: prices are up and a little larger homes sell, as a drift
monitor would see.

Usage: python3 generate.py   (writes next to this file)
"""

import csv
import datetime
import math
import random
from pathlib import Path

SEED = 98101
ROWS = 4000
INCOMING_ROWS = 400

# Dollars per square foot, and how common each zipcode is.
ZIPCODES = {
    "98101": (265.0, 0.08),
    "98103": (215.0, 0.17),
    "98105": (235.0, 0.12),
    "98107": (205.0, 0.13),
    "98109": (280.0, 0.07),
    "98115": (190.0, 0.16),
    "98117": (182.0, 0.15),
    "98122": (200.0, 0.12),
}
CONDITIONS = {"poor": (0.80, 0.05), "fair": (0.91, 0.20), "good": (1.0, 0.55), "excellent": (1.12, 0.20)}
PHRASES = [
    "Charming craftsman near the park",
    "Updated kitchen, new roof",
    "Quiet street; walk to shops",
    "Light-filled corner unit",
    "Needs some TLC, great bones",
    "Views of the lake, large deck",
    "Close to light rail",
    "Remodeled bath, fenced yard",
    "Original hardwood floors",
    "Investor special",
]
COLUMNS = [
    "listing_id", "price", "sqft", "lot_size", "bedrooms", "bathrooms", "year_built",
    "garage_spaces", "has_pool", "condition", "zipcode", "sale_date", "listing_text",
]


def pick(rng: random.Random, table: dict) -> str:
    names = list(table)
    return rng.choices(names, [table[name][1] for name in names])[0]


def sale(rng: random.Random, number: int, day: datetime.date, drift: bool) -> list[str]:
    condo = rng.random() < 0.2
    zipcode = pick(rng, ZIPCODES)
    condition = pick(rng, CONDITIONS)
    size_boost = 1.06 if drift else 1.0
    if condo:
        sqft = min(3000.0, max(400.0, rng.lognormvariate(math.log(900.0 * size_boost), 0.3)))
        lot_size = None
        year_built = rng.randint(1960, 2023)
        garage = rng.choice([0, 1, 1])
        pool = False
    else:
        sqft = min(8000.0, max(600.0, rng.lognormvariate(math.log(1900.0 * size_boost), 0.32)))
        lot_size = min(40000.0, max(1200.0, rng.lognormvariate(math.log(5000.0), 0.45)))
        year_built = min(2023, max(1900, int(rng.gauss(1965.0, 28.0))))
        garage = rng.choice([0, 1, 1, 2, 2, 2, 3])
        pool = rng.random() < 0.07
    if rng.random() < 0.01:
        year_built = day.year + 1  # sold before it was finished
    sqft = round(sqft / 10.0) * 10.0
    bedrooms = min(8, max(0 if condo else 1, round(sqft / 600.0 + rng.gauss(0.0, 0.6))))
    bathrooms = max(1.0, round((bedrooms * 0.7 + rng.gauss(0.3, 0.4)) * 2.0) / 2.0)

    rate = ZIPCODES[zipcode][0] * CONDITIONS[condition][0]
    age = max(0, day.year - year_built)
    age_factor = 1.0 - 0.0025 * min(age, 80) + (0.08 if age <= 3 else 0.0)
    trend = 1.0 + 0.004 * (day.month - 1) + (0.05 if drift else 0.0)
    value = (
        25000.0
        + sqft * rate * age_factor
        + (9.0 * math.sqrt(lot_size) * 100.0 if lot_size else 0.0)
        + (30000.0 if pool else 0.0)
        + 11000.0 * garage
        + 7000.0 * bathrooms
    )
    price = value * trend * math.exp(rng.gauss(0.0, 0.035))

    garage_text = "" if rng.random() < 0.05 else str(garage)
    text = "" if rng.random() < 0.33 else rng.choice(PHRASES)
    return [
        f"L{number:06d}",
        f"{price:.0f}",
        f"{sqft:.0f}",
        "" if lot_size is None else f"{lot_size:.0f}",
        str(bedrooms),
        f"{bathrooms:.1f}",
        str(year_built),
        garage_text,
        "true" if pool else "false",
        condition,
        zipcode,
        day.isoformat(),
        text,
    ]


def write(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def main() -> None:
    here = Path(__file__).resolve().parent
    rng = random.Random(SEED)
    days = sorted(datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(366)) for _ in range(ROWS))
    by_month: dict[int, list[list[str]]] = {}
    for number, day in enumerate(days, start=1):
        by_month.setdefault(day.month, []).append(sale(rng, number, day, drift=False))
    for month, rows in sorted(by_month.items()):
        write(here / "sales" / f"2024-{month:02d}.csv", rows)
    incoming_days = sorted(datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(31)) for _ in range(INCOMING_ROWS))
    incoming = [sale(rng, ROWS + number, day, drift=True) for number, day in enumerate(incoming_days, start=1)]
    write(here / "incoming" / "sales-2025-01.csv", incoming)


if __name__ == "__main__":
    main()
