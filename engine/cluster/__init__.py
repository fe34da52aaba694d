"""Running jobs on a Ray cluster: the request travels, the desktop queue stays the record."""
