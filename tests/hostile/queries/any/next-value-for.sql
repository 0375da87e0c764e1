-- expect: NEXT VALUE FOR advances a sequence
SELECT NEXT VALUE FOR dbo.roster_seq AS n
