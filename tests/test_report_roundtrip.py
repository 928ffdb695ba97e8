"""A Report comes back whole from its JSON: the review, the desk and batch joins read them back."""

from __future__ import annotations

import json

from unseen.types import FaceRecord, Report, TextRecord, TextReport


def test_a_photo_report_with_text_round_trips_through_json() -> None:
    report = Report(source="a.jpg", output="photo.unseen.jpg", width=640, height=480)
    report.faces = [FaceRecord((10, 20, 60, 80), 0.9, "centerface@1")]
    report.text = TextReport(
        "people",
        regions=[
            TextRecord((100, 200, 180, 220), 0.8, True, True),
            TextRecord((1, 2, 3, 4), 0.5, False, False),
        ],
        on_people_found=1,
        on_people_masked=1,
        other_found=1,
        other_left=1,
        redetected_boxes=[(5, 6, 7, 8)],
        rounds=1,
    )
    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert isinstance(again.text, TextReport) and isinstance(again.text.regions[0], TextRecord)
