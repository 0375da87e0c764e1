-- expect: OPENQUERY(), which runs a query on a linked server
SELECT x.* FROM OPENQUERY(loopback, 'SELECT 1 AS a') AS x
