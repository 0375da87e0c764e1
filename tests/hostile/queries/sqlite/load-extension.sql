-- expect: load_extension(), which loads native code into sis-extract
SELECT load_extension('/tmp/sis-extract-hostile.so') AS loaded
