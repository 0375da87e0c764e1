-- expect: pg_advisory_lock(), which takes advisory locks
SELECT pg_advisory_lock(42) AS locked
