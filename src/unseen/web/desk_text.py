"""What the desk and the editor say about text and time: regions left, counts in words, frame times.

A run's TextReport lists every text region it found and whether its mode masked it. A region the
person then masked in the editor (a mask they added covers it) is no longer left, though the
report of the next run still says the mode did not mask it: the person's mask did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from unseen.types import Finding, FindingKind, TextReport

COVERED = 0.8  # a region this much under one of the person's masks is masked
SHOWN_FRAMES = 6  # frames a refusal names; the rest are counted


def covered(box: Sequence[float], masks: Iterable[Sequence[float]]) -> bool:
    """`box` lies at least COVERED under one of `masks` (x1, y1, x2, y2 each)."""
    x1, y1, x2, y2 = box
    area = max(x2 - x1, 0.0) * max(y2 - y1, 0.0)
    if area <= 0:
        return False
    for m1, n1, m2, n2 in masks:
        inter = max(min(x2, m2) - max(x1, m1), 0.0) * max(min(y2, n2) - max(y1, n1), 0.0)
        if inter / area >= COVERED:
            return True
    return False


def regions_left(report: TextReport | dict[str, Any] | None, masked: bool = False) -> list[dict[str, Any]]:
    """The text regions a run left unmasked (or with `masked`, those it masked): [{box, on_person}]."""
    if report is None:
        return []
    raw = report.get("regions", []) if isinstance(report, dict) else [vars(r) for r in report.regions]
    left = []
    for region in raw if isinstance(raw, list) else []:
        if not isinstance(region, dict) or region.get("masked") is not masked:
            continue
        box = region.get("box")
        if isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
            left.append({"box": [float(v) for v in box], "on_person": bool(region.get("on_person"))})
    return left


def text_counts(report: TextReport | None, masks: Iterable[Sequence[float]]) -> dict[str, Any] | None:
    """Text on people and elsewhere, masked and left, for the page to put in words; None: no text step."""
    if report is None:
        return None
    boxes = [list(m) for m in masks]
    people = {"found": 0, "masked": 0, "left": 0}
    other = {"found": 0, "masked": 0, "left": 0}
    for region in report.regions:
        counts = people if region.on_person else other
        counts["found"] += 1
        counts["masked" if region.masked or covered(region.box, boxes) else "left"] += 1
    return {"mode": report.mode, "checked": report.checked, "people": people, "other": other}


def when(
    findings: Iterable[Finding | dict[str, Any]], fps: float | None, kind: FindingKind | None = None
) -> dict[str, Any]:
    """The frames a refusal names, each with its time in the clip, a few of them; and how many more."""
    frames = set()
    for finding in findings:
        record = (
            finding if isinstance(finding, dict) else {"frame": finding.frame, "kind": finding.kind.value}
        )
        if kind is not None and record.get("kind", FindingKind.DETECTED.value) != kind.value:
            continue
        if isinstance(record.get("frame"), int):
            frames.add(int(record["frame"]))
    ordered = sorted(frames)
    shown = [{"frame": f, "seconds": round(f / fps, 2) if fps else None} for f in ordered[:SHOWN_FRAMES]]
    return {"frames": shown, "more": max(0, len(ordered) - SHOWN_FRAMES)}


def report_text_and_findings(
    report: object,
) -> tuple[list[dict[str, Any]], list[list[float]], list[dict[str, Any]]]:
    """The text a run left and masked, and a refused clip's findings, from a manifest's JSON report."""
    try:
        data = json.loads(report) if isinstance(report, (str, bytes)) else {}
    except ValueError:
        return [], [], []
    if not isinstance(data, dict):
        return [], [], []
    text = data.get("text")
    check = data.get("check")
    found = check.get("findings") if isinstance(check, dict) else None
    findings = [
        {"frame": f["frame"], "box": f.get("box"), "kind": f.get("kind", "detected")}
        for f in (found if isinstance(found, list) else [])
        if isinstance(f, dict) and isinstance(f.get("frame"), int)
    ]
    text = text if isinstance(text, dict) else None
    return regions_left(text), [r["box"] for r in regions_left(text, masked=True)], findings
