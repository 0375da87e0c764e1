-- expect: a second statement starts here
SELECT $$'$$ AS a; COMMIT; BEGIN READ WRITE; DELETE FROM hostile_victim; COMMIT; -- '
