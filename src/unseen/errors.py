"""One exception tree for unseen.

    UnseenError
    ├── InputError            the input cannot be used (the message names file and reason)
    │   ├── UnreadableInput   missing, empty, truncated or corrupt
    │   ├── UnsupportedInput  a format unseen does not handle (refused, never guessed)
    │   │   └── UnknownContent    bytes no format unseen knows starts with
    │   └── InputTooLarge     a decompression bomb or an image past the pixel limit
    ├── OutputError           the output cannot be written (same path as input, unwritable folder)
    ├── VerificationFailed    the masked result still shows a face or identifying metadata
    └── MissingExtra          an optional dependency is not installed; names the extra

The library raises these; only the CLI prints and picks exit codes.
"""

from __future__ import annotations


class UnseenError(Exception):
    """Base of every error unseen raises on purpose."""


class InputError(UnseenError):
    """The input file cannot be used."""


class UnreadableInput(InputError):
    """Missing, empty, truncated or corrupt input."""


class UnsupportedInput(InputError):
    """A format unseen does not handle."""


class UnknownContent(UnsupportedInput):
    """Bytes that start like no format unseen knows, photo or refused one (a text file, say)."""


class InputTooLarge(InputError):
    """More pixels than unseen will decode (decompression bomb guard)."""


class OutputError(UnseenError):
    """The output cannot be written where asked."""


class VerificationFailed(UnseenError):
    """The masked result failed verification; nothing was written."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class MissingExtra(UnseenError):
    """An optional dependency is missing."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"{module} is not installed: pip install 'unseen[{extra}]'")
        self.module = module
        self.extra = extra
