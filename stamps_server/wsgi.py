"""The WSGI application: the front (stamps_server/front.py: operator endpoints, request ids,
logs, metrics), then the lean lane (stamps_server/lane.py), then Django's."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stamps_server.settings")
django_application = get_wsgi_application()  # sets Django up

from stamps_server.front import Front  # noqa: E402  (needs the apps loaded above)
from stamps_server.lane import Lane  # noqa: E402

lane = Lane(django_application)
application = Front(lane)
# What is loaded by now (Django, the apps, the URLs) stays for the process's life: frozen, the
# garbage collector stops walking it again on every full collection.
gc.freeze()
