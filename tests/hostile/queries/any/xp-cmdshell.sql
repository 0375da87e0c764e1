-- expect: xp_cmdshell(), which runs an extended stored procedure
SELECT master.dbo.xp_cmdshell('dir') AS out
