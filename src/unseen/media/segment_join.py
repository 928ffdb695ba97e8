"""The masked segments of a long video joined back losslessly, with the original audio.

Each segment starts at a keyframe, so it decodes on its own on any machine; it is masked into a
video-only part (`anonymize_video(..., span=segment.span())`). `join_segments` then remuxes the
parts' packets in order, never re-encoding, with the audio packets copied from the original, and
checks that every frame time of the input is there exactly once.

H.264 parts made by separate x264 runs with the same settings, size, frame rate and colour carry
byte-identical parameter sets (SPS/PPS: x264 writes them when the encoder opens, before any
picture), so they share the first part's header. Should a part's differ, its own parameter sets
are put in-band before its first keyframe, which decoders take as a new sequence (as in 'avc3');
any other codec whose header differs cannot be joined and is refused.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from unseen.errors import OutputError, UnsupportedInput, VerificationFailed
from unseen.media import video_streams as streams
from unseen.media.segments import Segment, _digest
from unseen.media.video_io import LOCAL_ONLY, local
from unseen.media.video_streams import read_back
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import output_temp
from unseen.types import Report, Verdict

MAX_SHIFT_SECONDS = Fraction(1, 1000)  # how far a part's container may have moved its start


class SegmentMismatch(OutputError):
    """The masked parts do not add up to the input (frames missing, moved or doubled): not joined."""


def join_segments(
    parts: list[Path],
    src: Path,
    dst: Path,
    settings: Settings,
    segments: list[Segment],
    report: Report | None = None,
) -> None:
    """Write `dst`: the parts' video packets in order and `src`'s audio packets, nothing re-encoded.

    The file is written to a temporary file in dst's folder and renamed into place only when
    complete, its frame times proved equal to the input's and its metadata read back clean.
    Raises SegmentMismatch when the parts do not add up to the input, VerificationFailed when
    identifying metadata is found (noted in `report`, which the error carries), OutputError when
    the folder cannot be written.
    """
    src, dst = Path(src), Path(dst)
    if len(parts) != len(segments) or not parts:
        raise SegmentMismatch(f"{dst}: {len(parts)} parts for {len(segments)} segments")
    tmp = output_temp(dst)
    try:
        try:
            _write(parts, src, tmp, settings, segments)
        except av.error.FFmpegError as error:
            raise SegmentMismatch(f"{dst}: the parts cannot be joined ({error})") from error
        left = read_back(tmp)
        if report is not None and report.check is not None:
            report.check.metadata_left = left
        if left:
            if report is not None:
                report.verdict = Verdict.REFUSED
            found = ", ".join(left)
            raise VerificationFailed(f"{src}: identifying metadata survived the join: {found}", report)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{dst}: cannot be written ({error.strerror or error})") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(parts: list[Path], src: Path, tmp: Path, settings: Settings, segments: list[Segment]) -> None:
    with (
        av.open(local(src), metadata_errors="replace", options=LOCAL_ONLY) as source,
        av.open(local(parts[0]), options=LOCAL_ONLY) as head,
        av.open(local(tmp), "w") as out,
    ):
        video = streams.main_video(source)
        template = head.streams.video[0] if head.streams.video else None
        if video is None or template is None:
            raise SegmentMismatch(f"{src}: no video stream to join")
        time_base = video.time_base or Fraction(1, 90000)
        stream = out.add_stream_from_template(template)
        stream.time_base = time_base
        matrix = _display_matrix(src)
        if matrix is not None:  # before the first packet, which writes the header
            stream.set_display_matrix(matrix)
        stream.metadata.clear()
        keep = list(source.streams.audio) if settings.audio is AudioPolicy.KEEP else []
        try:
            audio_out: dict[Any, Any] = {a: streams.add_audio(out, a) for a in keep}
        except ValueError as error:
            raise UnsupportedInput(f"{src}: {error}") from error
        pictures = ((stream, p) for p in _video_packets(parts, segments, template, Fraction(time_base)))
        sounds = ((audio_out[p.stream], p) for p in source.demux(keep) if p.dts is not None) if keep else ()
        # in time order, so the muxer's interleaving queue stays short however long the video
        for target, packet in heapq.merge(pictures, sounds, key=_seconds):
            packet.stream = target
            out.mux(packet)


def _video_packets(
    parts: list[Path], segments: list[Segment], template: Any, time_base: Fraction
) -> Iterator[av.Packet[Any]]:
    """Every part's picture packets in order, timed in the input's time base, checked against its segment."""
    header = bytes(template.codec_context.extradata or b"")
    codec = template.codec_context.name
    size = (template.codec_context.width, template.codec_context.height)
    clock = _DecodeClock()
    for part, segment in zip(parts, segments, strict=True):
        with av.open(local(part), options=LOCAL_ONLY) as container:
            if not container.streams.video:
                raise SegmentMismatch(f"{part}: holds no video")
            video = container.streams.video[0]
            ctx = video.codec_context
            if ctx.name != codec or (ctx.width, ctx.height) != size:
                raise SegmentMismatch(f"{part}: {ctx.name} {ctx.width}x{ctx.height}, not like the first part")
            prefix = b""
            own = bytes(ctx.extradata or b"")
            if own != header:
                if codec != "h264":
                    raise SegmentMismatch(f"{part}: its {codec} header differs from the first part's")
                prefix = avcc_parameter_sets(own)
            scale = Fraction(video.time_base or time_base) / time_base  # part ticks -> input ticks
            shift = _shift(part, segment, scale, time_base)
            first = True
            for packet in container.demux(video):
                if not packet.size:
                    continue
                if prefix and first:
                    if not packet.is_keyframe:
                        raise SegmentMismatch(f"{part}: does not start with a keyframe")
                    packet = _prefixed(packet, prefix)
                first = False
                pts = _rescaled(None if packet.pts is None else packet.pts + shift, scale, part)
                dts = None if packet.dts is None else _rescaled(packet.dts + shift, scale, part)
                packet.pts, packet.time_base = pts, time_base
                yield from clock.timed(packet, dts, part)
            yield from clock.flush(part)


def _shift(part: Path, segment: Segment, scale: Fraction, time_base: Fraction) -> int:
    """Ticks to add to the part's timestamps so they are the input's; refuses a part whose frame
    times are not exactly the segment's.

    An MP4 part starting mid-clip starts with an edit list in the file's movie time scale
    (milliseconds), so its first frame can read back up to half a millisecond off: one offset for
    the whole part, corrected here, then every frame time is compared with the input's.
    """
    with av.open(local(part), options=LOCAL_ONLY) as container:
        video = container.streams.video[0]
        raw = sorted(p.pts for p in container.demux(video) if p.size and p.pts is not None)
    start = Fraction(segment.start_pts) / scale
    if not raw or start.denominator != 1:
        raise SegmentMismatch(f"{part}: no frames, or not in a time base the input's times fit")
    shift = int(start) - raw[0]
    off = abs(shift * scale * time_base)
    if off > MAX_SHIFT_SECONDS:
        raise SegmentMismatch(f"{part}: starts {float(off):.4f} s off its segment")
    times = [_rescaled(r + shift, scale, part) for r in raw]
    if len(times) != segment.frames or _digest(times) != segment.digest:
        raise SegmentMismatch(
            f"{part}: {len(times)} frames, the segment from frame {segment.first} has {segment.frames}"
            " (or their times differ from the input's)"
        )
    return shift


class _DecodeClock:
    """Decode times rising across the parts: each part's encoder started its own B-frame delay,
    and containers that store no decode time (Matroska) give none for the first packets."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.waiting: list[av.Packet[Any]] = []  # packets without a decode time, up to the next with one

    def timed(self, packet: av.Packet[Any], dts: int | None, part: Path) -> Iterator[av.Packet[Any]]:
        if dts is None:
            self.waiting.append(packet)
            return
        if self.last is not None:
            dts = max(dts, self.last + 1 + len(self.waiting))
        yield from self._release(dts - len(self.waiting), part)
        yield self._set(packet, dts, part)

    def flush(self, part: Path) -> Iterator[av.Packet[Any]]:
        if self.last is not None:
            start = self.last + 1
        else:
            start = min((p.pts for p in self.waiting if p.pts is not None), default=0)
        yield from self._release(start, part)

    def _release(self, start: int, part: Path) -> Iterator[av.Packet[Any]]:
        waiting, self.waiting = self.waiting, []
        for k, packet in enumerate(waiting):
            yield self._set(packet, start + k, part)

    def _set(self, packet: av.Packet[Any], dts: int, part: Path) -> av.Packet[Any]:
        if packet.pts is None or dts > packet.pts:
            raise SegmentMismatch(f"{part}: decode time after display time at {packet.pts}")
        packet.dts = dts
        self.last = dts
        return packet


def avcc_parameter_sets(extradata: bytes) -> bytes:
    """The SPS and PPS of an avcC header as length-prefixed NAL units, ready to go in-band."""
    if len(extradata) < 7 or extradata[0] != 1:
        raise SegmentMismatch("an H.264 part has no avcC header")
    length_size = (extradata[4] & 3) + 1
    out = bytearray()
    at = 5
    for mask in (0x1F, 0xFF):  # number of SPS (low 5 bits), then number of PPS
        count = extradata[at] & mask
        at += 1
        for _ in range(count):
            size = int.from_bytes(extradata[at : at + 2], "big")
            nal = extradata[at + 2 : at + 2 + size]
            if len(nal) != size:
                raise SegmentMismatch("an H.264 part's avcC header is truncated")
            out += size.to_bytes(length_size, "big") + nal
            at += 2 + size
    return bytes(out)


def _prefixed(packet: av.Packet[Any], prefix: bytes) -> av.Packet[Any]:
    fresh = av.Packet(prefix + bytes(packet))
    fresh.pts, fresh.dts, fresh.time_base = packet.pts, packet.dts, packet.time_base
    fresh.duration = packet.duration
    fresh.is_keyframe = True
    return fresh


def _rescaled(value: int | None, scale: Fraction, part: Path) -> int:
    if value is None:
        raise SegmentMismatch(f"{part}: a video packet without a timestamp")
    exact = value * scale
    if exact.denominator != 1:
        raise SegmentMismatch(f"{part}: timestamp {value} is not a frame time of the input")
    return int(exact)


def _seconds(item: tuple[Any, av.Packet[Any]]) -> float:
    packet = item[1]
    return float(packet.dts * packet.time_base) if packet.dts is not None and packet.time_base else 0.0


def _display_matrix(src: Path) -> list[int] | None:
    """The input's display matrix as a whole-file run sets it: from its first decoded picture."""
    with av.open(local(src), metadata_errors="replace", options=LOCAL_ONLY) as container:
        video = streams.main_video(container)
        if video is None:
            return None
        for frame in container.decode(video):
            return streams.display_matrix(frame)
    return None
