"""Review and correct masks in a browser, offline: `unseen review FOLDER [-o OUT]`.

Standard library HTTP server on 127.0.0.1 with a one-time token; hand-written page, script and
style shipped in `static/`, nothing fetched from anywhere else.
"""

from unseen.web.command import main
from unseen.web.server import ReviewServer, serve

__all__ = ["ReviewServer", "main", "serve"]
