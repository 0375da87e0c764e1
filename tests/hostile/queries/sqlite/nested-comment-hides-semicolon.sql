-- expect: as SQLite reads the text
SELECT 1 AS a /* /* */ ; PRAGMA query_only = 0; DELETE FROM hostile_victim; /* */ */
