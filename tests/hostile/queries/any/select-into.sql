-- expect: SELECT … INTO creates a table
SELECT * INTO copy_of_victim FROM hostile_victim
