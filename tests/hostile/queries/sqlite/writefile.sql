-- expect: writefile(), which writes files
SELECT writefile('/tmp/sis-extract-hostile-written', 'x') AS bytes
