-- expect: as PostgreSQL reads the text
SELECT E'\''; COMMIT; BEGIN READ WRITE; DELETE FROM hostile_victim; COMMIT; -- '
