"""Where unseen keeps what must never be published: $XDG_STATE_HOME/unseen (else ~/.local/state).

Batch manifests and a person's review corrections live here, outside every output folder: a
folder meant for publishing holds the outputs and nothing that links them to their originals.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def state_home() -> Path:
    """$XDG_STATE_HOME/unseen when it is an absolute path, else ~/.local/state/unseen."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "unseen"


def path_key(path: Path) -> str:
    """A short stable key for a resolved path: the same folder finds its state again."""
    return hashlib.sha256(os.fsencode(Path(path).resolve())).hexdigest()[:16]
