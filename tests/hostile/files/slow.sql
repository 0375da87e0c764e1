-- Fifty million generated rows of 60 bytes: rows flow at once and keep flowing for
-- minutes, so a test can signal or kill a run in the middle of its extract.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000)
SELECT i AS id, printf('%050d', i) AS pad FROM n
