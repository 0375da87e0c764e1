-- expect: VALUES is not a SELECT
VALUES (1)
