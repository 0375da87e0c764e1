-- expect: set_config(), which changes session settings
SELECT set_config('default_transaction_read_only', 'off', false) AS was
