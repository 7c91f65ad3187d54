#!/usr/bin/env python3
"""Compare Tessera's segment evaluation with DuckDB on the same generated events.

Runs the segments benchmark in export mode (which writes the generated events and profiles as CSV
and Tessera's own timings), loads the CSV into DuckDB with one thread, times equivalent SQL for the
six reference segments S1-S6, checks that both agree on the member counts, and prints a table.

    pip install duckdb
    python3 bench/duckdb_compare.py --events 1000000 [--events 10000000] [--dir /tmp/tessera-bench]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb

NOW = 1_780_272_000_000  # 2026-06-01T00:00:00Z, as in benches/segments.rs
DAY = 86_400_000

# Equivalent SQL. Rules that matter: events after NOW never count; windows are inclusive
# [NOW - d, NOW]; numeric strings count as numbers; `*` on page matches pages with or without
# a name; S4 censoring: only Product Added events with t + 1d <= NOW can be "not followed".
QUERIES = {
    "S1": f"""
        SELECT count(*) FROM (
          SELECT pid FROM events
          WHERE call = 'track' AND name = 'Order Completed' AND ts BETWEEN {NOW - 30 * DAY} AND {NOW}
          GROUP BY pid HAVING count(*) >= 2)""",
    "S2": f"""
        SELECT count(*) FROM profiles p JOIN (
          SELECT pid, sum(TRY_CAST(revenue AS DOUBLE)) AS s FROM events
          WHERE call = 'track' AND name = 'Order Completed' AND ts <= {NOW}
          GROUP BY pid) o USING (pid)
        WHERE p.plan = 'pro' AND o.s > 200""",
    "S3": f"""
        SELECT count(*) FROM (
          SELECT DISTINCT pid FROM events
          WHERE call = 'page' AND ts BETWEEN {NOW - 7 * DAY} AND {NOW} AND starts_with(path, '/pricing')) v
        WHERE pid NOT IN (
          SELECT pid FROM events WHERE call = 'track' AND name = 'Order Completed' AND ts <= {NOW})""",
    "S4": f"""
        SELECT count(DISTINCT a.pid) FROM events a
        WHERE a.call = 'track' AND a.name = 'Product Added'
          AND a.ts BETWEEN {NOW - 14 * DAY} AND {NOW} AND a.ts + {DAY} <= {NOW}
          AND NOT EXISTS (
            SELECT 1 FROM events b
            WHERE b.pid = a.pid AND b.call = 'track' AND b.name = 'Order Completed'
              AND b.ts > a.ts AND b.ts <= a.ts + {DAY})""",
    "S5": f"""
        SELECT count(*) FROM profiles p JOIN (
          SELECT pid FROM events
          WHERE call = 'track' AND name = 'Email Opened' AND ts <= {NOW}
          GROUP BY pid HAVING count(*) >= 3) e USING (pid)
        WHERE p.country IN ('US', 'CA') OR TRY_CAST(p.age AS DOUBLE) >= 40""",
    "S6": f"""
        SELECT count(*) FROM (
          SELECT pid, max(ts) AS last FROM events WHERE ts <= {NOW} GROUP BY pid)
        WHERE last < {NOW - 60 * DAY}""",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="event counts (repeatable)")
    parser.add_argument("--dir", default="/tmp/tessera-bench", help="where the CSV files go")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (median kept)")
    parser.add_argument("--skip-export", action="store_true", help="reuse files already in --dir")
    args = parser.parse_args()
    sizes = args.events or [1_000_000]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    if not args.skip_export:
        env = dict(os.environ, TESSERA_BENCH_EXPORT=args.dir,
                   TESSERA_BENCH_SIZES=",".join(str(s) for s in sizes))
        subprocess.run(["cargo", "bench", "--bench", "segments"], cwd=root, env=env, check=True)
    with open(os.path.join(args.dir, "tessera_times.json")) as f:
        ours = json.load(f)

    failures = 0
    for events in sizes:
        con = duckdb.connect()
        con.execute("SET threads = 1")
        started = time.perf_counter()
        con.execute(f"""CREATE TABLE events AS SELECT * FROM read_csv('{args.dir}/events_{events}.csv',
            header = true, columns = {{'pid': 'INTEGER', 'ts': 'BIGINT', 'call': 'VARCHAR',
            'name': 'VARCHAR', 'revenue': 'VARCHAR', 'path': 'VARCHAR'}})""")
        con.execute(f"""CREATE TABLE profiles AS SELECT * FROM read_csv('{args.dir}/profiles_{events}.csv',
            header = true, columns = {{'pid': 'INTEGER', 'plan': 'VARCHAR', 'country': 'VARCHAR',
            'age': 'VARCHAR'}})""")
        print(f"\n{events:,} events (DuckDB {duckdb.__version__}, 1 thread; load {time.perf_counter() - started:.1f}s)")
        memory = next((o["memory"] for o in ours if o["events"] == events and "memory" in o), None)
        if memory:
            print(f"tessera store: {memory['bytes_per_event']:.1f} bytes/event + "
                  f"{memory['dictionary_bytes'] / 1e6:.1f} MB dictionaries + {memory['profile_bytes'] / 1e6:.1f} MB profiles")
        print(f"{'segment':8} {'tessera ms':>11} {'duckdb ms':>10} {'ratio':>7}  {'members':>9}  agree")
        for name, sql in QUERIES.items():
            mine = next(o for o in ours if o.get("events") == events and o.get("segment") == name)
            runs = []
            count = None
            for _ in range(args.runs):
                t = time.perf_counter()
                count = con.execute(sql).fetchone()[0]
                runs.append((time.perf_counter() - t) * 1000)
            theirs = statistics.median(runs)
            agree = count == mine["count"]
            failures += not agree
            print(f"{name:8} {mine['ms']:11.2f} {theirs:10.2f} {theirs / mine['ms']:6.1f}x  "
                  f"{mine['count']:9}  {'yes' if agree else f'NO (duckdb {count})'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
