-- expect: could not be parsed
TABLE hostile_victim
