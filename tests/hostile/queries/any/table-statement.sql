-- expect: TABLE … is not a SELECT
TABLE hostile_victim
