-- expect: query_to_xml(), which runs SQL text given as a string
SELECT query_to_xml('SELECT lo_create(0)', true, false, '') AS x
