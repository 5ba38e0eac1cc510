"""An application's writes and reads with psycopg 3, through tsmigrate proxy.

Usage: python3 client.py CONNINFO FIRST_ID. Prints one JSON document: what it read back.
"""
import json
import sys

import psycopg

conninfo, first = sys.argv[1], int(sys.argv[2])
with psycopg.connect(conninfo) as conn:
    with conn.cursor() as cur:
        # Server-side parameters (extended protocol); prepared after the first use when asked.
        for i in range(3):
            cur.execute("INSERT INTO readings (id, device, at, value, mood) VALUES (%s, %s, %s, %s, %s)",
                        (first + i, "python", "2026-06-01 00:00:0%d+00" % i, i / 4, "calm"), prepare=True)
        cur.executemany("INSERT INTO readings (id, device, at) VALUES (%s, %s, %s)",
                        [(first + 3 + i, "python many", "2026-06-01 01:00:00+00") for i in range(3)])
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM readings WHERE id = %s", (first,))
    conn.rollback()
    with conn.cursor() as cur:
        with cur.copy("COPY readings (id, device, at, note) FROM STDIN") as copy:
            copy.write_row((first + 6, "python copy", "2026-06-01 02:00:00+00", "tab\there"))
            copy.write_row((first + 7, "python copy", "2026-06-01 02:00:01+00", None))
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT id, device, value, mood::text FROM readings WHERE id BETWEEN %s AND %s ORDER BY id",
                    (first, first + 9))
        print(json.dumps([list(r) for r in cur.fetchall()]))
