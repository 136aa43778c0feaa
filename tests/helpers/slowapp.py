"""A test-only WSGI module (``flask --app tests.helpers.slowapp …``): the real app, with its feed
renderers slowed down so a test can ``kill -9`` the process in the middle of a regeneration.

FEEDSVC_TEST_RENDER_DELAY (seconds) is slept inside the renderer from its
FEEDSVC_TEST_RENDER_SLOW_CALL-th call on (1: the very first format of the first feed); just
before sleeping, the process writes its pid to FEEDSVC_TEST_RENDER_MARKER so the test knows it is
there. Nothing in feedsvc/ knows about any of this.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from feedsvc import create_app
from feedsvc.render import RENDERERS, Parts, Renderer
from feedsvc.render.feed import Feed

DELAY = float(os.environ.get("FEEDSVC_TEST_RENDER_DELAY", "0"))
SLOW_CALL = int(os.environ.get("FEEDSVC_TEST_RENDER_SLOW_CALL", "1"))
MARKER = os.environ.get("FEEDSVC_TEST_RENDER_MARKER")


class SlowRenderer:
    """Delegates to a real renderer, after the pause when its turn has come."""

    calls = 0  # across every format: the order of rendering is the order of calls

    def __init__(self, inner: Renderer) -> None:
        self.inner = inner

    def render(self, feed: Feed) -> bytes:
        self._pause()
        return self.inner.render(feed)

    def render_parts(self, feed: Feed) -> Parts:
        self._pause()
        return self.inner.render_parts(feed)

    @classmethod
    def _pause(cls) -> None:
        cls.calls += 1
        if DELAY and cls.calls >= SLOW_CALL:
            if MARKER:
                Path(MARKER).write_text(str(os.getpid()))
            time.sleep(DELAY)


for _fmt, _renderer in list(RENDERERS.items()):
    RENDERERS[_fmt] = SlowRenderer(_renderer)

app = create_app()
