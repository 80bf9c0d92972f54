"""The suite's settings: production's own (stamps_server/settings.py), with a secret key of
the suite's, as production refuses to start on the development key. Set in the environment,
so the servers and commands a test starts get it too."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "the-test-suite-s-own-key-never-used-anywhere-else")

from stamps_server.settings import *  # noqa: E402, F403
