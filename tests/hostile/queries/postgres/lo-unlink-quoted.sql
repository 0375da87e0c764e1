-- expect: lo_unlink(), which writes large objects
SELECT "lo_unlink"(oid) AS gone FROM pg_largeobject_metadata
