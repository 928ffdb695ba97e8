"""The desk speaks every language fully: a string missing from one language fails here.

Every locale has the same keys; every key the page or its script names exists; every word the
server can send for the page to translate (places, error kinds, metadata labels) has a key.
"""

from __future__ import annotations

import itertools
import json
import re
from importlib import resources
from typing import Any

import pytest

from unseen.media import _exif, video_streams
from unseen.web.desk import LANGUAGES
from unseen.web.desk_queue import where

STATIC = resources.files("unseen.web").joinpath("static")
PLURALS = {"one", "few", "many", "other"}


def locale(lang: str) -> dict[str, Any]:
    return dict(json.loads(STATIC.joinpath("locales", f"{lang}.json").read_text(encoding="utf-8")))


def used_keys() -> set[str]:
    """Keys named literally in desk.html (data-i18n, data-i18n-aria) and desk.js (t("...") calls)."""
    html = STATIC.joinpath("desk.html").read_text()
    script = STATIC.joinpath("desk.js").read_text()
    keys = set(re.findall(r'data-i18n(?:-aria)?="([^"]+)"', html))
    keys |= set(re.findall(r'\bt\(\s*"([^"]+)"', script))
    keys |= set(re.findall(r'"((?:add|state|done|refused|export|summary|files|error)\.[a-z_]+)"', script))
    return keys


def test_every_language_has_every_string() -> None:
    english = locale("en")
    for lang in LANGUAGES:
        words = locale(lang)
        assert set(words) == set(english), (
            f"{lang}: missing {set(english) - set(words)}, extra {set(words) - set(english)}"
        )
        for key, text in words.items():
            if isinstance(english[key], dict):
                assert isinstance(text, dict) and set(text) == PLURALS, (
                    f"{lang}: {key} needs one/few/many/other"
                )
            else:
                assert isinstance(text, str), f"{lang}: {key}"
                assert bool(text) == bool(english[key]), f"{lang}: {key} is empty"


def test_placeholders_match_english() -> None:
    english = locale("en")
    names = lambda text: set(re.findall(r"\{(\w+)\}", json.dumps(text, ensure_ascii=False)))  # noqa: E731
    for lang in LANGUAGES:
        for key, text in locale(lang).items():
            assert names(text) == names(english[key]), f"{lang}: {key} has other {{placeholders}}"


def test_every_key_the_page_uses_exists() -> None:
    keys = used_keys()
    assert len(keys) > 40, "the scan found the page's keys"
    english = locale("en")
    assert not keys - set(english), f"used but missing: {sorted(keys - set(english))}"


def test_the_translations_are_not_english() -> None:
    english = locale("en")
    for lang in set(LANGUAGES) - {"en"}:
        same = [k for k, v in locale(lang).items() if isinstance(v, str) and v and v == english[k]]
        assert len(same) < 5, f"{lang}: left in English: {same}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_word_the_server_sends_has_a_translation(lang: str) -> None:
    words = locale(lang)
    places = {where((x, y, x + 1, y + 1), 300, 300) for x, y in itertools.product((10, 150, 290), repeat=2)}
    assert len(places) == 9
    assert {f"where.{p}" for p in places} <= set(words)
    for kind in ("unreadable", "unsupported", "too_large", "output", "other"):
        assert f"error.{kind}" in words
    labels = {v for k, v in vars(_exif).items() if k.isupper() and isinstance(v, str)}
    assert len(labels) >= 18
    labels |= {label for _, label in video_streams._TAGS}
    labels |= {"audio track", "extra video track", "subtitle track", "attachment", "data track",
               "cover picture", "chapters", "other tags"}  # fmt: skip
    missing = {label for label in labels if f"meta.{label}" not in words}
    assert not missing, f"{lang}: no words for {missing}"
    for code in ("folder_empty", "folder_relative", "folder_private", "folder_file", "folder_missing",
                 "folder_unwritable", "too_big", "no_room"):  # fmt: skip
        assert f"export.{code}" in words or f"add.{code}" in words
