"""The library: a SQLite catalogue of media and of every generation's full recipe."""
