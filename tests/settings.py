"""The suite's settings: production's own (stamps_server/settings.py), with a secret key of
the suite's, as production refuses to start on the development key. Set in the environment,
so the servers and commands a test starts get it too."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "the-test-suite-s-own-key-never-used-anywhere-else")

from stamps_server.settings import *  # noqa: E402, F403

# The suite speaks plain http: the WSGI application's SecurityMiddleware reads this once, as
# the module is imported. Tests of the https rules turn it on for their own clients.
SECURE_SSL_REDIRECT = False
