-- expect: as PostgreSQL reads the text
SELECT $$'$$ AS a; COMMIT; BEGIN READ WRITE; DELETE FROM hostile_victim; COMMIT; -- '
