-- expect: which reads from another server or file with its own credentials
SELECT x.* FROM OPENROWSET('SQLNCLI', 'Server=other;Trusted_Connection=yes;', 'SELECT 1 AS a') AS x
