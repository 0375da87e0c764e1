-- expect: lo_from_bytea(), which writes large objects
SELECT pg_catalog.lo_from_bytea(0, 'x'::bytea) AS oid
