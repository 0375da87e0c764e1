-- expect: sp_executesql(), which runs a system stored procedure
SELECT y.* FROM sys.sp_executesql(N'DELETE FROM t') AS y
