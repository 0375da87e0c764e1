-- expect: FOR UPDATE/SHARE locks rows
SELECT id FROM hostile_victim FOR UPDATE
