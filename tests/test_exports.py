"""The public surface changes only on purpose."""

import unseen


def test_all_is_pinned() -> None:
    assert sorted(unseen.__all__) == [
        "Detections",
        "InputError",
        "MaskShape",
        "MaskStyle",
        "OutputError",
        "Report",
        "Settings",
        "UnseenError",
        "VerificationFailed",
        "__version__",
        "anonymize",
        "anonymize_file",
        "find_faces",
        "inspect_file",
    ]


def test_every_export_resolves() -> None:
    for name in unseen.__all__:
        assert getattr(unseen, name) is not None


def test_import_loads_no_model() -> None:
    import subprocess
    import sys

    code = "import sys, unseen; print('onnxruntime' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
