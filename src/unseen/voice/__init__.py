"""Voices: disguise the speech in a video's audio and prove a speaker recognizer no longer knows it.

Needs the `voice` extra (pyworld, and resemblyzer for its speaker-encoder weights):
pip install 'unseen[voice]'.
"""

from unseen.voice.remux import disguise_video

__all__ = ["disguise_video"]
