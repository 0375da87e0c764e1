SELECT 'a;b' AS s, ? AS d;  -- trailing
