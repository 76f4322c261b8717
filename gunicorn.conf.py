"""gunicorn settings, read from the environment (``gunicorn -c gunicorn.conf.py``).

GUNICORN_BIND        address to listen on (default 127.0.0.1:8000; PORT alone also works)
WEB_CONCURRENCY      worker processes (default 2 × CPU cores + 1, at most 8)
GUNICORN_THREADS     threads per worker (default 4; >1 selects the gthread worker)
GUNICORN_TIMEOUT     seconds a request may take before its worker is restarted (default 60)
FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-Proto gunicorn trusts (default loopback)
GUNICORN_CONTROL_SOCKET  path of gunicorn's control socket (default: none)

The access log goes to standard output, errors to standard error (journald or
docker collect both). The app itself trusts TRUSTED_PROXIES hops (ProxyFix).
"""

import multiprocessing
import os

from config import _env_int as _int

wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Restart each worker now and then, so a slow leak cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# The heartbeat file on tmpfs: a worker blocked on a slow disk is not taken for dead.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# gunicorn's control socket (gunicornc) only when asked for: its default path in $HOME
# would be shared by every gunicorn of the machine.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# No preload: each worker opens its own database connections after the fork.
preload_app = False
