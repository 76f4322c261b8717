"""Entry point for the web server and the Celery worker and beat.

gunicorn wsgi:app
celery -A wsgi.celery_app worker
celery -A wsgi.celery_app beat
"""

from crm import create_app

app = create_app()
celery_app = app.extensions["celery"]
