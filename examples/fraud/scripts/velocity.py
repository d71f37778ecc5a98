#!/usr/bin/env python3
"""Per-account velocity features for the fraud example's custom step.

    python scripts/velocity.py --in transactions.csv --out features.csv

mlopsc hands the `transactions` table to this command as a CSV file with a header (booleans
`true`/`false`, timestamps ISO 8601), and reads the CSV written to `--out` back, checking it
against the step's declared output schema. Python standard library only.

For every transaction, looking only at the same account's earlier transactions (so nothing
from the future leaks into a feature):

| column                  | meaning |
|-------------------------|---------|
| `hour`                  | hour of day of the transaction, 0–23 |
| `txn_count_1h`          | earlier transactions in the hour before it |
| `txn_count_24h`         | earlier transactions in the 24 hours before it |
| `amount_sum_24h`        | their total amount |
| `amount_zscore`         | (amount − mean of all earlier amounts) / their standard deviation, taken as at least a quarter of the mean (and 1.0) so that an account with one or two similar earlier amounts does not get huge scores; empty on an account's first transaction |
| `distinct_merchants_7d` | distinct merchant categories in the 7 days up to and including it |
| `seconds_since_last`    | seconds since the account's previous transaction; empty on its first |

`transaction_id`, `amount`, `merchant_category`, `channel`, `country_mismatch`, `card_present`
and `is_fraud` are passed through. Rows come out in the order they came in.
"""

import argparse
import collections
import csv
import datetime
import math
import sys

REQUIRED = [
    "transaction_id", "account_id", "amount", "merchant_category", "channel",
    "country_mismatch", "card_present", "ts", "is_fraud",
]
OUTPUT = [
    "transaction_id", "amount", "merchant_category", "channel", "country_mismatch",
    "card_present", "hour", "txn_count_1h", "txn_count_24h", "amount_sum_24h",
    "amount_zscore", "distinct_merchants_7d", "seconds_since_last", "is_fraud",
]
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(days=7)
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


class InputError(Exception):
    """The input file is not what the step declares."""


def parse_bool(text: str, column: str, line: int) -> str:
    value = text.strip().lower()
    if value in TRUE:
        return "true"
    if value in FALSE:
        return "false"
    raise InputError(f"line {line}: `{column}` is not a boolean: {text!r}")


def parse_time(text: str, line: int) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"line {line}: `ts` is not an ISO 8601 timestamp: {text!r}") from None
    return moment.replace(tzinfo=None)


def parse_amount(text: str, line: int) -> float:
    try:
        amount = float(text)
    except ValueError:
        raise InputError(f"line {line}: `amount` is not a number: {text!r}") from None
    if not math.isfinite(amount):
        raise InputError(f"line {line}: `amount` is not finite: {text!r}")
    return amount


def number(value: float) -> str:
    """A float as text that reads back as a float (`3.0`, not `3`)."""
    return repr(round(value, 6))


def read(path: str) -> list[dict]:
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path} has no column {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            rows.append({
                "transaction_id": row["transaction_id"],
                "account_id": row["account_id"],
                "amount_text": row["amount"],
                "amount": parse_amount(row["amount"], line),
                "merchant_category": row["merchant_category"],
                "channel": row["channel"],
                "country_mismatch": parse_bool(row["country_mismatch"], "country_mismatch", line),
                "card_present": parse_bool(row["card_present"], "card_present", line),
                "ts": parse_time(row["ts"], line),
                "is_fraud": parse_bool(row["is_fraud"], "is_fraud", line),
            })
    return rows


def account_features(history: list[dict]) -> None:
    """Adds the velocity columns to one account's rows, given in time order."""
    hour_window: collections.deque = collections.deque()
    day_window: collections.deque = collections.deque()
    day_sum = 0.0
    week_window: collections.deque = collections.deque()
    week_merchants: collections.Counter = collections.Counter()
    count, mean, squares = 0, 0.0, 0.0  # Welford's running mean and variance of earlier amounts
    previous = None
    for row in history:
        now = row["ts"]
        while hour_window and hour_window[0] <= now - HOUR:
            hour_window.popleft()
        while day_window and day_window[0][0] <= now - DAY:
            day_sum -= day_window.popleft()[1]
        while week_window and week_window[0][0] <= now - WEEK:
            week_merchants[week_window.popleft()[1]] -= 1
        week_window.append((now, row["merchant_category"]))
        week_merchants[row["merchant_category"]] += 1

        row["hour"] = str(now.hour)
        row["txn_count_1h"] = str(len(hour_window))
        row["txn_count_24h"] = str(len(day_window))
        row["amount_sum_24h"] = number(max(day_sum, 0.0))
        if count == 0:
            row["amount_zscore"] = ""
        else:
            spread = max(math.sqrt(squares / count), 0.25 * abs(mean), 1.0)
            row["amount_zscore"] = number((row["amount"] - mean) / spread)
        row["distinct_merchants_7d"] = str(sum(1 for seen in week_merchants.values() if seen > 0))
        row["seconds_since_last"] = "" if previous is None else number((now - previous).total_seconds())

        hour_window.append(now)
        day_window.append((now, row["amount"]))
        day_sum += row["amount"]
        count += 1
        delta = row["amount"] - mean
        mean += delta / count
        squares += delta * (row["amount"] - mean)
        previous = now


def write(path: str, rows: list[dict]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(OUTPUT)
        for row in rows:
            out = dict(row, amount=row["amount_text"])
            writer.writerow([out[column] for column in OUTPUT])


def velocity(rows: list[dict]) -> list[dict]:
    """Computes the features in place; returns the rows in their original order."""
    accounts: dict[str, list[dict]] = collections.defaultdict(list)
    for row in rows:
        accounts[row["account_id"]].append(row)
    for history in accounts.values():
        history.sort(key=lambda row: (row["ts"], row["transaction_id"]))
        account_features(history)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in", dest="source", required=True, help="transactions CSV")
    parser.add_argument("--out", dest="target", required=True, help="features CSV to write")
    args = parser.parse_args()
    try:
        rows = read(args.source)
    except (InputError, OSError) as error:
        print(f"velocity.py: {error}", file=sys.stderr)
        return 1
    write(args.target, velocity(rows))
    print(f"velocity.py: {len(rows)} transactions, {len({row['account_id'] for row in rows})} accounts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
