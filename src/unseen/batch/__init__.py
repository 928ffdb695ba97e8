"""Folders of photos and videos: mirror a tree, resumable, in parallel here or on a Ray cluster.

unseen batch incoming/ -o published/              all cores of this machine
unseen batch incoming/ -o published/ --resume     after a crash or Ctrl-C: only what is left
unseen batch incoming/ -o published/ --ray auto   on the Ray cluster this machine belongs to

The command line is unseen.cli_batch; here are the batch itself and the engines it runs on
(LocalPool here; unseen.scale.ray.RayEngine for Ray, passed in as `engine=`).
"""

from __future__ import annotations

from unseen.batch.engine import Engine
from unseen.batch.job import BatchResult, Interrupted, Status, run_batch
from unseen.batch.local import LocalPool
from unseen.batch.manifest import State

__all__ = ["BatchResult", "Engine", "Interrupted", "LocalPool", "State", "Status", "run_batch"]
