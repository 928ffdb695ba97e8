// unseen review: a video in the editor: its frames, playback, the timeline of face tracks and masks over frame ranges.
"use strict";
(() => {
  const review = window.unseenReview;
  const { state, $, isVideo, t, el, say, pct, place, drawMasks, pictureUrl, current, change } = review;

  // a time in the clip as mm:ss.s, the way a player shows it
  const clock = (seconds) => {
    const tenths = Math.round(seconds * 10);
    return `${String(Math.floor(tenths / 600)).padStart(2, "0")}:${((tenths % 600) / 10).toFixed(1).padStart(4, "0")}`;
  };

  // a refused video: what the check found and when, each a button to go to that frame
  function showRefusal(item) {
    const note = $("refusal");
    const found = item.findings || [];
    note.hidden = !found.length;
    if (!found.length) return note.replaceChildren();
    const jumps = found.map((f) => {
      const button = el("button", "jump", t("editor.at_frame", { frame: f.frame + 1, time: clock(f.seconds) }));
      button.type = "button";
      button.addEventListener("click", () => {
        seek(f.frame);
        state.range = { first: f.frame, last: f.frame };
        drawTimeline();
      });
      return button;
    });
    const more = item.findings_more ? [el("span", "", t("editor.findings_more", { n: item.findings_more }))] : [];
    note.replaceChildren(el("span", "", t("editor.refused_video")), ...jumps, ...more);
  }

  function showVideo(item) {
    state.frame = Math.min(state.frame, item.frames - 1);
    if (!state.range) state.range = { first: 0, last: item.frames - 1 };
    state.range.first = Math.min(state.range.first, item.frames - 1);
    state.range.last = Math.min(state.range.last, item.frames - 1);
    $("scrub").max = item.frames - 1;
    const notes = { input: t("editor.note_input"), output: item.current ? "" : t("editor.note_output") };
    $("video-note").textContent = notes[item.shows] || "";
    drawTimeline();
    seek(state.frame, true);
  }

  const clampFrame = (i) => Math.max(0, Math.min(state.item.frames - 1, i));

  function seek(i, reload = false) {
    if (!isVideo()) return;
    const frame = clampFrame(i);
    if (frame === state.frame && !reload) return;
    state.frame = frame;
    $("scrub").value = frame;
    const seconds = clock(frame / state.item.fps);
    $("frame-info").textContent = t("editor.frame_info", { frame: frame + 1, frames: state.item.frames, time: seconds });
    drawMasks();
    drawPlayhead();
    loadFrame();
  }

  // one frame in flight at a time: scrubbing asks for the latest position once the last one is in
  function loadFrame() {
    if (state.loading) {
      state.wanted = true;
      return;
    }
    const picture = $("picture");
    const next = pictureUrl();
    if (picture.getAttribute("src") === next && picture.complete) return; // no load event would come
    state.loading = true;
    state.started = performance.now();
    picture.src = next;
  }

  function frameLoaded() {
    const waited = state.loading;
    state.loading = false;
    if (!isVideo() || !waited) return;
    if (state.wanted) {
      state.wanted = false;
      return loadFrame();
    }
    if (!state.playing) return;
    if (state.frame >= state.item.frames - 1) return play(false);
    const wait = Math.max(0, 1000 / state.item.fps - (performance.now() - state.started));
    setTimeout(() => state.playing && seek(state.frame + 1), wait);
  }

  function play(on) {
    state.playing = on && isVideo();
    $("play").textContent = t(state.playing ? "editor.pause" : "editor.play");
    if (state.playing) {
      if (state.frame >= state.item.frames - 1) seek(0);
      else if (!state.loading) seek(state.frame + 1);
    }
  }

  function setRange(end) {
    const range = state.range;
    range[end] = state.frame;
    if (range.first > range.last) [range.first, range.last] = end === "first" ? [range.first, range.first] : [range.last, range.last];
    drawTimeline();
  }

  const frames = (first, last) => (first === last ? t("editor.frame", { frame: first + 1 }) : t("editor.frames", { first: first + 1, last: last + 1 }));

  function lane(cls, first, last, title, onClick) {
    const node = el("div", "lane");
    if (first !== null && first !== undefined) {
      const bar = el(onClick ? "button" : "div", `bar ${cls}`);
      const total = state.item.frames;
      Object.assign(bar.style, { left: pct(first, total), width: pct(last - first + 1, total) });
      bar.title = title;
      if (onClick) bar.addEventListener("click", onClick);
      node.append(bar);
    }
    node.append(el("div", "playhead"));
    return node;
  }

  function drawTimeline() {
    const item = state.item;
    const rows = [];
    const row = (cls, label, laneNode) => {
      const node = el("div", `row ${cls}`);
      node.append(el("span", "label", label), laneNode);
      rows.push(node);
      return node;
    };
    const { first, last } = state.range;
    $("range-info").textContent = frames(first, last);
    row("chosen", t("editor.chosen"), lane("chosen", first, last, frames(first, last)));
    item.tracks.forEach((track, index) => {
      const where = track.first === null ? t("editor.track_gone") : frames(track.first, track.last);
      const action = t(track.off ? "editor.track_on_help" : "editor.track_off_help");
      const off = track.off ? " off" : "";
      const name = t("editor.face_n", { n: index + 1 }); // in order of appearance; the report's track number is in the title
      const title = t("editor.track_title", { name, track: track.track, where, action });
      const node = row(`track${off}`, track.off ? t("editor.face_off", { name }) : name,
        lane(`track${off}`, track.first, track.last, title, () => toggleTrack(track)));
      node.dataset.track = track.track;
      if (track.first === null) {
        const on = el("button", "", t("editor.switch_on"));
        on.addEventListener("click", () => toggleTrack(track));
        node.lastChild.append(on);
      }
    });
    item.added_ranges.forEach((range, index) => {
      const node = row("range", t("editor.mask_n", { n: index + 1 }),
        lane("range", range.first, range.last, t("editor.range_title", { frames: frames(range.first, range.last) }), () => deleteRange(index)));
      node.dataset.range = index;
    });
    if (!item.tracks.length && item.shows === "output") rows.push(el("p", "note", t("editor.no_tracks")));
    $("timeline").replaceChildren(...rows);
    drawPlayhead();
  }

  function drawPlayhead() {
    const left = pct(state.frame + 0.5, state.item.frames);
    for (const node of $("timeline").querySelectorAll(".playhead")) node.style.left = left;
  }

  function drawVideoMasks(overlay) {
    const item = state.item;
    const at = state.frame;
    item.added_ranges.forEach((range, index) => {
      if (at < range.first || at > range.last) return;
      const node = el("div", `mask added range ${item.shape}`);
      place(node, range.mask_box);
      node.title = t("editor.range_title", { frames: frames(range.first, range.last) });
      node.addEventListener("pointerdown", (event) => event.stopPropagation());
      node.addEventListener("click", (event) => {
        event.stopPropagation();
        deleteRange(index);
      });
      overlay.append(node);
    });
    item.tracks.forEach((track, index) => {
      if (track.first !== at || !track.mask_box) return; // where the track starts: its first box is known
      const node = el("div", `mask track${track.off ? " off" : ""} ${item.shape}`);
      place(node, track.mask_box);
      node.title = t(track.off ? "editor.track_start_on" : "editor.track_start_off", { n: index + 1 });
      node.addEventListener("pointerdown", (event) => event.stopPropagation());
      node.addEventListener("click", (event) => {
        event.stopPropagation();
        toggleTrack(track);
      });
      overlay.append(node);
    });
  }

  function toggleTrack(track) {
    const next = current();
    const off = new Set(next.tracks_off);
    if (off.has(track.track)) off.delete(track.track);
    else off.add(track.track);
    next.tracks_off = [...off].sort((a, b) => a - b);
    return change(next);
  }

  function deleteRange(index) {
    const next = current();
    next.added_ranges = next.added_ranges.filter((_, i) => i !== index);
    return change(next);
  }

  // -- keys and buttons ---------------------------------------------------------------------------
  // the player's keys, for the editor's onKey: Shift steps ten frames
  function videoKeys(event) {
    const step = event.shiftKey ? 10 : 1;
    return {
      " ": () => play(!state.playing),
      ArrowLeft: () => seek(state.frame - step),
      ArrowRight: () => seek(state.frame + step),
      Home: () => seek(0),
      End: () => seek(state.item.frames - 1),
      "[": () => setRange("first"),
      "]": () => setRange("last"),
    };
  }

  function wireVideo() {
    $("picture").addEventListener("load", frameLoaded);
    $("picture").addEventListener("error", () => {
      if (isVideo() && state.loading) say(t("editor.cannot_show_frame"), true);
      frameLoaded();
    });
    $("play").addEventListener("click", () => play(!state.playing));
    $("step-back").addEventListener("click", () => seek(state.frame - 1));
    $("step-forward").addEventListener("click", () => seek(state.frame + 1));
    $("scrub").addEventListener("input", (event) => seek(Number(event.target.value)));
    $("range-from").addEventListener("click", () => setRange("first"));
    $("range-to").addEventListener("click", () => setRange("last"));
    $("range-all").addEventListener("click", () => {
      state.range = { first: 0, last: state.item.frames - 1 };
      drawTimeline();
    });
  }

  Object.assign(review, { showRefusal, showVideo, loadFrame, play, drawVideoMasks, videoKeys, wireVideo });
})();
