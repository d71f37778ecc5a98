#!/usr/bin/env python3
"""Writes the fraud example's data: transactions/2024-03-DD.csv (one file per week of March
2024) and incoming/featured-2024-03-29.csv.

Deterministic (fixed seed, Python standard library only): running it again gives the same
bytes. The CSV files are committed, so nothing needs to run this before `mlopsc run`.

300 card accounts make about 7,500 transactions in four weeks. Each account has its own
habits: a typical amount, favourite merchant categories, a home currency, mostly daytime card
payments at a till. About 2% of transactions are fraud, in two shapes:

- bursts: a stolen card is used 3–7 times within minutes, mostly online, often from another
  country, often at night, for several times the account's usual amount, at electronics,
  gaming, travel or "other" merchants;
- single transactions: one unusual purchase, harder to tell from a genuine splurge.

Genuine transactions sometimes look suspicious too (travel abroad, a late online order, two
quick payments), so the velocity features carry a strong but imperfect signal.

The incoming file is the two days after, already through `scripts/velocity.py`: the table a
monitor compares with the training data. Fraud is a little more common in it.

Usage: python3 generate.py   (writes next to this file)
"""

import csv
import datetime
import math
import random
import sys
from pathlib import Path

SEED = 4242
ACCOUNTS = 300
START = datetime.datetime(2024, 3, 1)
WEEKS = 4
CATEGORIES = ["grocery", "travel", "electronics", "gaming", "fuel", "other"]
RISKY = ["electronics", "gaming", "travel", "other"]
CURRENCIES = ["USD", "EUR", "GBP"]
COLUMNS = [
    "transaction_id", "account_id", "amount", "currency", "merchant_category", "channel",
    "country_mismatch", "card_present", "ts", "is_fraud",
]


def account(rng: random.Random, number: int) -> dict:
    weights = [rng.random() ** 2 + 0.05 for _ in CATEGORIES]
    weights[0] += 0.6  # everybody buys groceries
    return {
        "id": f"A{number:04d}",
        "currency": rng.choices(CURRENCIES, [0.6, 0.25, 0.15])[0],
        "typical": rng.lognormvariate(math.log(35.0), 0.5),
        "per_day": rng.uniform(0.3, 1.6),
        "weights": weights,
    }


def genuine(rng: random.Random, owner: dict, moment: datetime.datetime) -> dict:
    category = rng.choices(CATEGORIES, owner["weights"])[0]
    channel = rng.choices(["pos", "online", "atm"], [0.62, 0.3, 0.08])[0]
    scale = {"travel": 3.0, "electronics": 2.5}.get(category, 1.0)
    return {
        "account": owner,
        "amount": owner["typical"] * scale * rng.lognormvariate(0.0, 0.6),
        "category": category,
        "channel": channel,
        "mismatch": rng.random() < (0.25 if category == "travel" else 0.005),
        "present": channel != "online" and rng.random() < 0.97,
        "ts": moment,
        "fraud": False,
    }


def fraudulent(rng: random.Random, owner: dict, moment: datetime.datetime) -> dict:
    channel = rng.choices(["online", "atm", "pos"], [0.8, 0.12, 0.08])[0]
    return {
        "account": owner,
        "amount": owner["typical"] * rng.lognormvariate(1.9, 0.5),
        "category": rng.choice(RISKY),
        "channel": channel,
        "mismatch": rng.random() < 0.85,
        "present": channel != "online" and rng.random() < 0.3,
        "ts": moment,
        "fraud": True,
    }


def daytime(rng: random.Random, day: datetime.datetime) -> datetime.datetime:
    hour = min(23, max(0, int(rng.gauss(14.5, 4.0))))
    return day + datetime.timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def transactions(rng: random.Random, owners: list[dict], start: datetime.datetime, days: int, fraud_rate: float) -> list[dict]:
    rows = []
    for owner in owners:
        for offset in range(days):
            day = start + datetime.timedelta(days=offset)
            for _ in range(sum(1 for _ in range(4) if rng.random() < owner["per_day"] / 4)):
                moment = daytime(rng, day)
                rows.append(genuine(rng, owner, moment))
                if rng.random() < 0.03:  # a second payment right after the first
                    rows.append(genuine(rng, owner, moment + datetime.timedelta(seconds=rng.randrange(20, 120))))
    bursts = round(len(rows) * fraud_rate / 5.0)
    for _ in range(bursts):
        owner = rng.choice(owners)
        day = start + datetime.timedelta(days=rng.randrange(days))
        if rng.random() < 0.75:
            moment = day + datetime.timedelta(hours=rng.choice([0, 1, 2, 3, 4, 5, 22, 23]), minutes=rng.randrange(60))
        else:
            moment = daytime(rng, day)
        for _ in range(rng.randint(3, 7)):
            rows.append(fraudulent(rng, owner, moment))
            moment += datetime.timedelta(seconds=rng.randrange(15, 400))
    for _ in range(bursts // 4):
        owner = rng.choice(owners)
        row = fraudulent(rng, owner, daytime(rng, start + datetime.timedelta(days=rng.randrange(days))))
        row["amount"] = owner["typical"] * rng.lognormvariate(1.8, 0.4)
        row["mismatch"] = rng.random() < 0.9
        rows.append(row)
    rows.sort(key=lambda row: (row["ts"], row["account"]["id"]))
    return rows


def as_record(row: dict, number: int) -> list[str]:
    return [
        f"T{number:06d}",
        row["account"]["id"],
        f"{row['amount']:.2f}",
        row["account"]["currency"],
        row["category"],
        row["channel"],
        "true" if row["mismatch"] else "false",
        "true" if row["present"] else "false",
        row["ts"].isoformat(),
        "true" if row["fraud"] else "false",
    ]


def write(path: Path, header: list[str], records: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(records)


def main() -> None:
    here = Path(__file__).resolve().parent
    rng = random.Random(SEED)
    owners = [account(rng, number) for number in range(1, ACCOUNTS + 1)]
    history = transactions(rng, owners, START, 7 * WEEKS, fraud_rate=0.02)
    records = [as_record(row, number) for number, row in enumerate(history, start=1)]
    for week in range(WEEKS):
        first = START + datetime.timedelta(days=7 * week)
        last = first + datetime.timedelta(days=7)
        chosen = [record for record, row in zip(records, history) if first <= row["ts"] < last]
        write(here / "transactions" / f"{first.date().isoformat()}.csv", COLUMNS, chosen)

    # Next week's transactions, through the same velocity script the pipeline runs.
    incoming_start = START + datetime.timedelta(days=7 * WEEKS)
    incoming = transactions(rng, owners, incoming_start, 2, fraud_rate=0.03)
    incoming_records = [as_record(row, len(records) + number) for number, row in enumerate(incoming, start=1)]
    sys.path.insert(0, str(here.parent / "scripts"))
    sys.dont_write_bytecode = True
    import velocity  # noqa: E402 (the example's own script)

    source = here / "incoming" / "transactions.tmp.csv"
    target = here / "incoming" / f"featured-{incoming_start.date().isoformat()}.csv"
    write(source, COLUMNS, records + incoming_records)
    rows = velocity.velocity(velocity.read(str(source)))
    source.unlink()
    new_ids = {record[0] for record in incoming_records}
    velocity.write(str(target), [row for row in rows if row["transaction_id"] in new_ids])


if __name__ == "__main__":
    main()
