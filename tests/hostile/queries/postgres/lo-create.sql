-- expect: lo_create(), which writes large objects
SELECT lo_create(0) AS oid
