"""The daily cycle: refresh the warehouse after loads, score new days, `zoo daily`."""
