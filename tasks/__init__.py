"""Celery tasks. Never import ``create_app`` here: the worker entry point (wsgi.py) builds the app."""
