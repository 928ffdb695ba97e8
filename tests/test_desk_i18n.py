"""The desk and its editor speak every language fully: a string missing from one language fails here.

Every locale has the same keys; every key the pages or their scripts name exists; every word the
server can send for a page to translate (places, error kinds, metadata labels, verdicts, mask
styles) has a key; and no English is written into the editor's page or script past the table.
"""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest

from unseen.media import _exif, video_streams
from unseen.types import MaskStyle
from unseen.web.desk import BACK_LINK, LANGUAGES
from unseen.web.desk_queue import where

STATIC = resources.files("unseen.web").joinpath("static")
PLURALS = {"one", "few", "many", "other"}
EDITOR_SCRIPTS = ("app.js", "editor.js", "video.js")  # index.html loads them, in this order


def editor_script() -> str:
    return "\n".join(STATIC.joinpath(name).read_text() for name in EDITOR_SCRIPTS)


def locale(lang: str) -> dict[str, Any]:
    return dict(json.loads(STATIC.joinpath("locales", f"{lang}.json").read_text(encoding="utf-8")))


def used_keys(page: str = "desk.html", script_name: str = "desk.js") -> set[str]:
    """Keys named literally in a page (data-i18n, -aria, -title) and its script (t("...") calls)."""
    html = STATIC.joinpath(page).read_text()
    script = STATIC.joinpath(script_name).read_text()
    keys = set(re.findall(r'data-i18n(?:-aria|-title)?="([^"]+)"', html))
    keys |= set(re.findall(r'\bt\(\s*"([^"]+)"', script))
    keys |= set(
        re.findall(r'"((?:add|state|done|refused|export|summary|files|error|editor)\.[a-z_.]+)"', script)
    )
    return keys


def editor_keys() -> set[str]:
    keys = set().union(*(used_keys("index.html", name) for name in EDITOR_SCRIPTS))
    keys |= set(re.findall(r'data-i18n="([^"]+)"', BACK_LINK))
    # t(cond ? "a" : "b") and t(`editor.mask_${kind}`): the literal keys and every kind
    script = editor_script()
    keys |= set(re.findall(r'"(editor\.[a-z_.]+)"', script))
    keys |= {f"editor.mask_{kind}" for kind in ("detected", "added", "removed")}
    keys |= {f"editor.style.{style.value}" for style in MaskStyle}
    verdicts = ("not exported", "verified", "unverified", "refused", "error", "written", "failed")
    keys |= {f"editor.verdict.{v}" for v in verdicts}
    return {k for k in keys if not any(other.startswith(k + ".") for other in keys)}  # known("prefix", word)


class _Words(HTMLParser):
    """Text and labelling attributes of a page that do not go through data-i18n."""

    LABELS = ("title", "aria-label", "alt", "placeholder")

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.loose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for label in self.LABELS:
            key = {"title": "data-i18n-title", "aria-label": "data-i18n-aria"}.get(label, "-")
            if named.get(label) and key not in named:
                self.loose.append(f"<{tag} {label}={named[label]!r}>")
        if tag not in ("meta", "link", "input", "img", "br"):
            self.stack.append(named)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("meta", "link", "input", "img", "br") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        words = re.sub(r"[^\w]+", " ", data).strip()
        if not re.search(r"[A-Za-z]{2}", words):
            return  # arrows, dots, the keys of <kbd>
        if any("data-i18n" in attrs for attrs in self.stack):
            return
        if self.stack and "lang" in self.stack[-1]:
            return  # a language's own name in the switch
        if re.fullmatch(r"(Esc|Delete|space|z|n|p|o)", words):
            return
        self.loose.append(data.strip())


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


def test_every_key_the_editor_uses_exists() -> None:
    keys = editor_keys()
    assert len(keys) > 80, "the scan found the editor's keys"
    for lang in LANGUAGES:
        missing = keys - set(locale(lang))
        assert not missing, f"{lang}: the editor needs {sorted(missing)}"


def test_the_editor_page_has_no_words_outside_the_table() -> None:
    parser = _Words()
    parser.feed(STATIC.joinpath("index.html").read_text())
    kbd = {"Esc", "Delete", "space"}
    assert not [w for w in parser.loose if w not in kbd], parser.loose


def _bare(text: str) -> str:
    """A JS string literal without its ${...} parts (nested braces too) and \\u escapes."""
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if depth and text[i] == "{":
            depth += 1
        elif depth and text[i] == "}":
            depth -= 1
        elif not depth:
            out.append(text[i])
        i += 1
    return re.sub(r"\\u[0-9a-f]{4}", " ", "".join(out))


def test_the_editor_script_writes_no_english_itself() -> None:
    """No string literal in the editor's scripts reads as words: only keys, ids, classes, routes, events."""
    script = editor_script()
    script = re.sub(r"^\s*//[^\n]*|\s//\s[^\n]*", "", script, flags=re.M)  # comments may say anything
    script = script.replace('"use strict"', "")
    # class lists and selectors are words too, but the person never reads them
    script = re.sub(r'(el\("\w+",\s*)(["`])(?:(?!\2).)*\2', r'\1""', script)
    script = re.sub(r'(querySelector(?:All)?|classList\.\w+)\((["`])(?:(?!\2).)*\2', r"\1(", script)
    literals = re.findall(r'"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`', script)
    sentences = [a or b for a, b in literals if re.search(r"[A-Za-z]{2,}[ :,]+[A-Za-z]{2,}", _bare(a or b))]
    assert not sentences, sentences
    keyboard = {"Escape", "Delete", "Backspace", "Home", "End", "Arrow"}  # event.key names, never shown
    labels = [a for a, _ in literals if re.fullmatch(r"[A-Z][a-z]+", a) and a not in keyboard]
    assert not labels, labels
    # and nothing the person reads is set from a literal: textContent, title, alt, say(), el(..., text)
    shown = re.findall(r'(?:textContent|title|alt)\s*=\s*(["`])((?:(?!\1).)*)\1', script)
    shown += re.findall(r'(?:el\("\w+",\s*"[^"]*",|say\()\s*(["`])((?:(?!\1).)*)\1', script)
    direct = [text for _, text in shown if re.search(r"[A-Za-z]{2}", _bare(text))]
    assert not direct, direct


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
