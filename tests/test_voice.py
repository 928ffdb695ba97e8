"""Voices, fast: the disguise, the proof loop with a fake speaker recognizer, the remux, the
missing extra; the numpy GE2E encoder against resemblyzer's own network in torch."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from unseen import cli
from unseen.errors import MissingExtra, VerificationFailed
from unseen.pipeline import anonymize_file
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import PREFIX
from voice_media import FPS, SENTENCES, beep, onset, resample, speak, write_clip

pytest.importorskip("pyworld", reason="the voice extra is not installed: pip install 'unseen[voice]'")

from unseen.voice import disguise as vocoder  # noqa: E402
from unseen.voice import remux  # noqa: E402
from unseen.voice.speaker import GE2E, SAME_SPEAKER, load_weights, mel_frames, weights_path  # noqa: E402
from unseen.voice.tracks import _display_matrix as display_matrix  # noqa: E402

FAST = Settings(audio=AudioPolicy.DISGUISE)


class FakeRecognizer:
    """Calls every voice the same speaker (`matches`) or no one; counts what it was asked."""

    name = "fake"
    threshold = 0.75

    def __init__(self, matches: bool) -> None:
        self.matches = matches
        self.calls = 0

    def embed(self, speech: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.matches:
            return np.ones(4, np.float32) / 2
        vector = np.zeros(4, np.float32)
        vector[self.calls % 4] = 1
        return vector


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    audio, rate = speak(SENTENCES[0], "en+m3")
    return resample(audio, rate, 48_000), 48_000


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(PREFIX)]


def test_draws_differ_every_time_and_widen_with_strength() -> None:
    draws = [vocoder.draw(0) for _ in range(50)]
    assert len({(d.semitones, d.warp) for d in draws}) == 50
    for strength, ((p_lo, p_hi), (w_lo, w_hi), _, (t_lo, t_hi)) in enumerate(vocoder.STRENGTHS):
        for change in (vocoder.draw(strength) for _ in range(20)):
            assert p_lo <= abs(change.semitones) <= p_hi
            assert w_lo <= max(change.warp, 1 / change.warp) <= w_hi
            assert t_lo <= abs(change.tilt) <= t_hi
            assert np.sign(change.semitones) == np.sign(np.log(change.warp)) == np.sign(change.alpha)
    low_voice = [vocoder.draw(0, median_f0=125).semitones > 0 for _ in range(200)]
    assert 0.6 < np.mean(low_voice) < 0.95  # mostly up, never always: the direction is no secret key
    lo, hi = vocoder.PITCH_RANGE
    for f0 in (90.0, 190.0, 300.0):
        for strength in range(len(vocoder.STRENGTHS)):
            assert all(lo <= f0 * 2 ** (vocoder.draw(strength, f0).semitones / 12) <= hi for _ in range(50))
    # a child's voice cannot land in range at strength 0: it goes the way that lands nearer, down
    assert all(vocoder.draw(0, 400.0).semitones < 0 for _ in range(50))


def test_disguise_keeps_length_and_timing_and_moves_the_pitch(speech: tuple[np.ndarray, int]) -> None:
    audio48, rate = speech
    audio = resample(audio48, rate, vocoder.RATE)
    silence = np.zeros(vocoder.RATE, np.float32)
    track = np.concatenate([audio, silence, beep(vocoder.RATE), silence])
    change = vocoder.draw(1, vocoder.median_f0(audio))
    out = vocoder.disguise(track, change)
    assert out.shape == track.shape and out.dtype == np.float32
    beep_at = len(audio) / vocoder.RATE + 1.0
    assert abs(onset(out, vocoder.RATE, beep_at - 0.5) - beep_at) <= 1 / FPS
    before, after = vocoder.median_f0(audio), vocoder.median_f0(out[: len(audio)])
    assert before is not None and after is not None
    moved = 12 * np.log2(after / before)
    # the drift (up to 1.8 semitones) wanders around the drawn shift: direction and size hold
    assert np.sign(moved) == np.sign(change.semitones) and abs(moved - change.semitones) < 4
    assert not np.allclose(vocoder.disguise(track, vocoder.draw(1)), out, atol=1e-3)


def test_long_audio_is_done_in_blocks_without_seams() -> None:
    t = np.arange(int(20 * vocoder.RATE)) / vocoder.RATE
    tone = (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    out = vocoder.disguise(tone, vocoder.draw(0))
    assert out.shape == tone.shape
    hop = vocoder.RATE // 100
    rms = np.sqrt(np.mean(out[: len(out) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    assert rms[50:-50].min() > 0.2 * np.median(rms)  # no dropout at a block edge


def test_fake_match_refuses_and_leaves_nothing(
    tmp_path: Path, speech: tuple[np.ndarray, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    audio, rate = speech
    clip = tmp_path / "clip.mp4"
    write_clip(clip, audio[: rate * 3], rate)
    fake = FakeRecognizer(matches=True)
    monkeypatch.setattr(remux, "default_recognizer", lambda: fake)
    code = cli.main([str(clip), "--audio", "disguise", "-q"])
    assert code == cli.EXIT_REFUSED
    assert not (tmp_path / "clip.unseen.mp4").exists() and no_temp_files(tmp_path)
    assert fake.calls >= 2 * len(vocoder.STRENGTHS)  # every round was judged before refusing
    with pytest.raises(VerificationFailed, match="speaker recognizer still matches") as refused:
        anonymize_file(clip, tmp_path / "out.mp4", FAST)
    assert refused.value.report.width == 0  # type: ignore[attr-defined]  # refused before the picture
    report = anonymize_file(clip, tmp_path / "forced.mp4", Settings(audio=AudioPolicy.DISGUISE, force=True))
    assert report.verdict == "unverified" and report.voice is not None and not report.voice.verified
    assert report.voice.rounds == len(vocoder.STRENGTHS)
    assert no_temp_files(tmp_path)


def test_fake_no_match_writes_disguised_audio_in_sync(
    tmp_path: Path, speech: tuple[np.ndarray, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    audio, rate = speech
    track = np.concatenate([audio[: rate * 2], np.zeros(rate // 2, np.float32), beep(rate), audio[:rate]])
    for suffix, codec in ((".mp4", "aac"), (".webm", "opus"), (".mkv", "aac")):
        clip = tmp_path / f"clip{suffix}"
        write_clip(clip, track, rate, rotation=90 if suffix == ".mp4" else None)
        monkeypatch.setattr(remux, "default_recognizer", lambda: FakeRecognizer(matches=False))
        report = anonymize_file(clip, None, FAST)
        assert report.voice is not None and report.voice.verified and report.voice.rounds == 1
        assert "audio track" not in report.metadata_removed
        out = Path(report.output or "")
        with av.open(str(clip)) as a, av.open(str(out)) as b:
            assert len(a.streams.audio) == 1
            (sb,) = b.streams.audio
            assert sb.codec_context.name == codec
            assert abs(float(a.duration - b.duration) / 1e6) <= 1 / FPS
            assert len(list(b.demux(b.streams.video[0]))) == len(list(a.demux(a.streams.video[0])))
        heard = remux.read_tracks(out, vocoder.RATE)[0]
        beep_at = 2.5
        assert abs(onset(heard.samples, vocoder.RATE, 2.2) + heard.start - beep_at) <= 1 / FPS
        if suffix == ".mp4":
            matrix = display_matrix(out)
            assert matrix is not None and matrix == display_matrix(clip)
    assert no_temp_files(tmp_path)


def test_video_without_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = tmp_path / "silent.mp4"
    write_clip(clip, None, seconds=1.0)
    monkeypatch.setattr(remux, "default_recognizer", lambda: FakeRecognizer(matches=True))
    report = anonymize_file(clip, None, FAST)
    assert report.voice is not None and report.voice.tracks == 0 and report.voice.verified
    with av.open(report.output or "") as out:
        assert not out.streams.audio
    assert "no audio to disguise" in cli.summary(report)


def test_missing_extra_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "clip.mp4"
    write_clip(clip, np.zeros(48_000, np.float32), seconds=1.0)
    monkeypatch.setitem(sys.modules, "pyworld", None)  # import pyworld now raises ImportError
    assert cli.main([str(clip), "--audio", "disguise", "-q"]) == cli.EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unseen[voice]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    with pytest.raises(MissingExtra):
        vocoder.require()


def test_weights_loader_refuses_code(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, f)
        f.write(b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        load_weights(evil)


def test_mel_frames_match_librosa() -> None:
    """librosa's mel filters over SciPy's STFT (centred, zero-padded, periodic Hann): what
    librosa.feature.melspectrogram computes for resemblyzer, without librosa.stft's 19 s first call."""
    librosa = pytest.importorskip("librosa")
    from scipy import signal

    rng = np.random.default_rng(3)
    wav = (0.1 * rng.standard_normal(16_000 * 2)).astype(np.float32)
    ours = mel_frames(wav)
    window = signal.get_window("hann", 400)
    _, _, spec = signal.stft(wav, nperseg=400, noverlap=240, window=window, boundary="zeros", padded=False)
    power = (np.abs(spec) * window.sum()) ** 2  # SciPy scales by the window's sum; librosa does not
    theirs = (librosa.filters.mel(sr=16_000, n_fft=400, n_mels=40) @ power).T
    assert ours.shape == theirs.shape == (201, 40)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-6 * float(theirs.max()))


def test_numpy_encoder_matches_resemblyzer_network_in_torch() -> None:
    torch = pytest.importorskip("torch")
    weights = load_weights(weights_path())
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    linear = torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("lstm.")})
    linear.load_state_dict(
        {k[7:]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("linear.")}
    )
    checkpoint = torch.load(weights_path(), map_location="cpu", weights_only=True)["model_state"]
    for name, array in weights.items():
        np.testing.assert_array_equal(array, checkpoint[name].numpy())
    rng = np.random.default_rng(5)
    mels = rng.random((3, 160, 40)).astype(np.float32)
    with torch.no_grad():
        _, (hidden, _) = lstm(torch.from_numpy(mels))
        raw = torch.relu(linear(hidden[-1]))
        expected = (raw / raw.norm(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(GE2E().partials(mels), expected, atol=2e-5)


def test_encoder_tells_voices_apart(speech: tuple[np.ndarray, int]) -> None:
    encoder = GE2E()
    one = encoder.embed(resample(*speak(SENTENCES[0], "en+f2"), 16_000))
    same = encoder.embed(resample(*speak(SENTENCES[1], "en+f2"), 16_000))
    other = encoder.embed(resample(*speak(SENTENCES[1], "en+m3", pitch=30), 16_000))
    assert float(one @ same) >= SAME_SPEAKER > float(one @ other) - 0.1
    assert float(one @ same) > float(one @ other)


def test_no_verify_disguises_without_judging(
    tmp_path: Path, speech: tuple[np.ndarray, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    audio, rate = speech
    clip = tmp_path / "clip.mp4"
    write_clip(clip, audio[: rate * 2], rate)
    fake = FakeRecognizer(matches=True)
    monkeypatch.setattr(remux, "default_recognizer", lambda: fake)
    report = anonymize_file(clip, None, Settings(audio=AudioPolicy.DISGUISE, verify=False))
    assert fake.calls == 0 and report.voice is not None and report.voice.recognizer is None
    assert report.verdict == "unverified" and "NOT checked" in cli.summary(report)
    heard = remux.read_tracks(Path(report.output or ""), vocoder.RATE)[0]
    original = remux.read_tracks(clip, vocoder.RATE)[0]
    n = min(len(heard.samples), len(original.samples))
    assert abs(np.corrcoef(heard.samples[:n], original.samples[:n])[0, 1]) < 0.5  # changed, not copied
