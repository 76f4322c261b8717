"""The dashboards: the whole city (the reader's scope) and one unit."""
