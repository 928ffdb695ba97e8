"""Folders of photos and videos: mirror a tree, resumable, in parallel here or on a Ray cluster.

unseen batch incoming/ -o published/              all cores of this machine
unseen batch incoming/ -o published/ --resume     after a crash or Ctrl-C: only what is left
unseen batch incoming/ -o published/ --ray auto   on the Ray cluster this machine belongs to
"""

from __future__ import annotations

from unseen.batch.cli import main
from unseen.batch.job import BatchResult, Status, run_batch

__all__ = ["BatchResult", "Status", "main", "run_batch"]
