-- expect: pg_terminate_backend(), which ends another session
SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()
