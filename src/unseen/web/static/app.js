// unseen review: the grid, the editor and export. Talks only to the server that served it.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const state = {
    page: 0, pages: 1, size: 48, item: null, undo: [], hover: null, peeking: false, drag: null,
    // video: the frame shown, the frames a drawn mask covers, playback and the one frame in flight
    frame: 0, range: null, playing: false, loading: false, wanted: false, started: 0,
  };
  const isVideo = () => !!state.item && state.item.kind === "video";
  const words = { table: {}, lang: "en" };

  // -- words: the desk's locale files, one set for both pages ------------------------------------
  function t(key, vars = {}) {
    let text = words.table[key];
    if (text === undefined) text = key;
    if (typeof text === "object") {
      const rule = new Intl.PluralRules(words.lang).select(vars.n === undefined ? 0 : vars.n);
      text = text[rule] !== undefined ? text[rule] : text.other;
    }
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? "" : String(vars[name])));
  }
  // a word the server sends (a verdict, a mask style): translated when the table has it
  const known = (prefix, word) => (words.table[`${prefix}.${word}`] !== undefined ? t(`${prefix}.${word}`) : word);
  // a time in the clip as mm:ss.s, the way a player shows it
  const clock = (seconds) => {
    const tenths = Math.round(seconds * 10);
    return `${String(Math.floor(tenths / 600)).padStart(2, "0")}:${((tenths % 600) / 10).toFixed(1).padStart(4, "0")}`;
  };

  async function language(lang) {
    const response = await fetch(url(`/static/locales/${lang}.json`), { headers: { "X-Unseen-Token": token } });
    words.table = await response.json();
    words.lang = lang;
    document.documentElement.lang = lang;
    $("language").value = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
    for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  }

  const url = (path, extra = "") => `${path}?token=${encodeURIComponent(token)}${extra}`;

  async function api(path, body) {
    const options = { headers: { "X-Unseen-Token": token } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text, bad = false) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("bad", bad);
  }

  const faces = (n, kind = "image") => {
    if (n === null || n === undefined) return t(kind === "video" ? "editor.faces_untracked" : "editor.faces_unchecked");
    return t(kind === "video" ? "editor.face_tracks" : "editor.faces", { n });
  };

  // -- routing: #page/N, #item/ID -----------------------------------------------------------------
  function route() {
    const item = location.hash.match(/^#item\/(\d+)$/);
    if (item) return openItem(Number(item[1]));
    const page = location.hash.match(/^#page\/(\d+)$/);
    return showGrid(page ? Number(page[1]) : 0);
  }

  // -- grid ---------------------------------------------------------------------------------------
  async function showGrid(page) {
    setPeek(false);
    play(false);
    $("editor-view").hidden = true;
    $("grid-view").hidden = false;
    let data;
    try {
      data = await api(`/api/items?page=${page}`);
    } catch (error) {
      return say(error.message, true);
    }
    Object.assign(state, { page: data.page, pages: data.pages, size: data.size });
    $("where").textContent = `${data.folder} \u2192 ${data.out}`;
    const skipped = data.skipped ? ` \u00b7 ${t("editor.skipped", { n: data.skipped })}` : "";
    const where = t("editor.page", { page: data.page + 1, pages: data.pages });
    $("page-info").textContent = `${where} \u00b7 ${t("editor.items", { n: data.total })}${skipped}`;
    $("prev-page").disabled = data.page === 0;
    $("next-page").disabled = data.page >= data.pages - 1;
    pending(data.pending);
    $("grid").replaceChildren(...data.items.map(card));
  }

  function pending(n) {
    $("export").textContent = n ? t("editor.export_n", { n }) : t("editor.export");
  }

  function card(item) {
    const li = el("li", `card ${item.kind}`);
    li.dataset.id = item.id;
    const link = el("a");
    link.href = `#item/${item.id}`;
    const img = el("img");
    img.loading = "lazy";
    img.alt = t("editor.alt_masked", { name: item.name });
    const masked = url(`/api/items/${item.id}/thumb`, `&v=${item.version}`);
    img.src = masked;
    img.addEventListener("error", () => link.replaceChildren(el("span", "broken", t("editor.cannot_show"))));
    img.addEventListener("load", refreshSoon);
    link.append(img);
    const peek = el("button", "peek", t("editor.original"));
    peek.title = t("editor.peek_card_help");
    peek.addEventListener("click", () => {
      const showing = li.classList.toggle("original");
      img.src = showing ? url(`/api/items/${item.id}/original`, "&small=1") : masked;
      img.alt = t(showing ? "editor.alt_original" : "editor.alt_masked", { name: item.name });
      peek.textContent = t(showing ? "editor.masked" : "editor.original");
    });
    li.append(link, el("div", "name", item.name), meta(item), peek);
    return li;
  }

  function meta(item) {
    const node = el("div", "meta");
    if (item.kind === "video") node.append(el("span", "badge", t("editor.video")));
    const verdict = el("span", `verdict ${item.verdict.replace(/\W/g, "-")}`, known("editor.verdict", item.verdict));
    node.append(verdict, el("span", "faces", faces(item.faces, item.kind)));
    if (item.edited) node.append(el("span", "edited", t("editor.edited")));
    if (item.edits_error) node.append(el("span", "broken", t("editor.edits_damaged")));
    return node;
  }

  // drawing a thumbnail finds the faces: show the counts once the pictures are in
  let refreshTimer = 0;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      if ($("grid-view").hidden) return;
      const data = await api(`/api/items?page=${state.page}`).catch(() => null);
      for (const item of data ? data.items : []) {
        const card = $("grid").querySelector(`.card[data-id="${item.id}"] .meta`);
        if (card) card.replaceWith(meta(item));
      }
    }, 300);
  }

  // -- editor -------------------------------------------------------------------------------------
  async function openItem(id) {
    $("grid-view").hidden = true;
    $("editor-view").hidden = false;
    if (!state.item || state.item.id !== id) state.undo = [];
    setPeek(false);
    play(false);
    $("title").textContent = t("editor.looking");
    try {
      show(await api(`/api/items/${id}`));
    } catch (error) {
      $("title").textContent = error.message;
    }
  }

  function show(item) {
    const same = state.item && state.item.id === item.id && state.item.kind === item.kind;
    state.item = item;
    state.hover = null;
    const verdict = known("editor.verdict", item.verdict);
    $("title").textContent = `${item.id + 1}/${item.total} \u00b7 ${item.name} \u00b7 ${faces(item.faces, item.kind)} \u00b7 ${verdict}`;
    if (item.edits_error) say(item.edits_error, true);
    const picture = $("picture");
    picture.alt = t("editor.alt_masked", { name: item.name });
    showRefusal(item);
    $("player").hidden = item.kind !== "video";
    $("stage").classList.toggle("video", item.kind === "video");
    $("stage").style.setProperty("--aspect", item.width / item.height);
    $("photo-help").hidden = item.kind === "video";
    if (item.kind === "video") {
      if (!same) {
        Object.assign(state, { frame: 0, range: null, loading: false, wanted: false });
      }
      showVideo(item);
    } else {
      picture.src = pictureUrl();
    }
    const style = $("style");
    const styles = item.styles.map((s) => Object.assign(el("option", "", known("editor.style", s)), { value: s }));
    style.replaceChildren(el("option", "", t("editor.style_default", { style: known("editor.style", item.default_mask) })), ...styles);
    style.options[0].value = "";
    style.value = item.mask || "";
    $("undo").disabled = state.undo.length === 0;
    $("prev").disabled = item.id === 0;
    $("next").disabled = item.id >= item.total - 1;
    drawMasks();
  }

  const pct = (value, total) => `${((100 * value) / total).toFixed(3)}%`;

  function place(node, [x1, y1, x2, y2]) {
    const { width, height } = state.item;
    Object.assign(node.style, {
      left: pct(x1, width), top: pct(y1, height), width: pct(x2 - x1, width), height: pct(y2 - y1, height),
    });
  }

  function drawMasks() {
    const item = state.item;
    const overlay = $("overlay");
    overlay.replaceChildren();
    if (item.kind === "video") drawVideoMasks(overlay);
    for (const mask of item.masks) {
      const node = el("div", `mask ${mask.kind} ${item.shape}`);
      place(node, mask.mask_box);
      node.dataset.kind = mask.kind;
      node.title = t(`editor.mask_${mask.kind}`);
      node.addEventListener("pointerdown", (event) => event.stopPropagation());
      node.addEventListener("click", (event) => {
        event.stopPropagation();
        toggle(mask);
      });
      node.addEventListener("pointerenter", () => (state.hover = mask));
      node.addEventListener("pointerleave", () => state.hover === mask && (state.hover = null));
      overlay.append(node);
    }
    for (const region of item.text_left || []) overlay.append(textNode(region));
    document.querySelector(".key.text").hidden = !(item.text_left || []).length; // the legend names what is shown
  }

  // text the run left unmasked: a dashed box; one click (or Enter) masks it through the edits
  function textNode(region) {
    const node = el("button", `mask text${region.on_person ? " person" : ""}`);
    node.type = "button";
    place(node, region.box);
    const label = t(region.on_person ? "editor.text_person" : "editor.text_other");
    node.title = label;
    node.setAttribute("aria-label", label);
    node.addEventListener("pointerdown", (event) => event.stopPropagation());
    node.addEventListener("pointerup", (event) => event.stopPropagation());
    node.addEventListener("click", (event) => {
      event.stopPropagation();
      change({ ...current(), add_mask: region.box });
    });
    return node;
  }

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

  function current() {
    const item = state.item;
    const now = { added: item.added, removed: item.removed, mask: item.mask };
    if (item.kind !== "video") return now;
    const ranges = item.added_ranges.map((r) => ({ box: r.box, first: r.first, last: r.last }));
    return { ...now, tracks_off: item.tracks_off, added_ranges: ranges };
  }

  async function change(next, remember = true) {
    const before = current();
    const id = state.item.id;
    try {
      const saved = await api(`/api/items/${id}/edits`, next);
      // the person may have moved on while it saved: never redraw an item they left
      if (!state.item || state.item.id !== id) return;
      show(saved);
      if (remember) state.undo.push(before);
      $("undo").disabled = state.undo.length === 0;
      say(t("editor.saved"));
    } catch (error) {
      say(error.message, true);
    }
  }

  function toggle(mask) {
    const next = current();
    if (mask.kind === "detected") next.removed = [...next.removed, mask.box];
    else if (mask.kind === "added") next.added = next.added.filter((_, i) => i !== mask.index);
    else next.removed = next.removed.filter((_, i) => i !== mask.index);
    return change(next);
  }

  function undo() {
    const previous = state.undo.pop();
    if (previous) change(previous, false);
  }

  function go(step) {
    const id = state.item ? state.item.id + step : 0;
    if (state.item && id >= 0 && id < state.item.total) location.hash = `#item/${id}`;
  }

  // what the picture shows: the masked preview or frame, or the original only when asked
  function pictureUrl() {
    const item = state.item;
    const frame = isVideo() ? `&i=${state.frame}` : "";
    if (state.peeking) return url(`/api/items/${item.id}/original`, frame);
    const what = isVideo() ? "frame" : "preview";
    return url(`/api/items/${item.id}/${what}`, `&v=${item.version}${frame}`);
  }

  function setPeek(on) {
    const peeking = on && !!state.item && !$("editor-view").hidden;
    const changed = peeking !== state.peeking;
    state.peeking = peeking;
    const item = state.item;
    $("stage").classList.toggle("peeking", state.peeking);
    $("peek-label").hidden = !state.peeking;
    $("overlay").hidden = state.peeking;
    $("peek").textContent = t(state.peeking ? "editor.masked" : "editor.original");
    if (!item || !changed) return;
    if (isVideo()) loadFrame();
    else $("picture").src = pictureUrl();
  }

  // -- video: frames, playback, timeline, tracks and masks over frame ranges ------------------------
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

  // dragging on the photo adds a mask over the dragged rectangle
  function toImage(event) {
    const box = $("picture").getBoundingClientRect();
    const { width, height } = state.item;
    const x = Math.min(Math.max(event.clientX - box.left, 0), box.width);
    const y = Math.min(Math.max(event.clientY - box.top, 0), box.height);
    return [(x / box.width) * width, (y / box.height) * height];
  }

  function dragged(start, end) {
    return [Math.min(start[0], end[0]), Math.min(start[1], end[1]), Math.max(start[0], end[0]), Math.max(start[1], end[1])];
  }

  function wireStage() {
    const stage = $("stage");
    const band = $("band");
    stage.addEventListener("pointerdown", (event) => {
      if (state.peeking || !state.item || event.button !== 0) return;
      event.preventDefault();
      state.drag = { start: toImage(event), x: event.clientX, y: event.clientY };
      stage.setPointerCapture(event.pointerId);
    });
    stage.addEventListener("pointermove", (event) => {
      if (!state.drag) return;
      band.hidden = false;
      place(band, dragged(state.drag.start, toImage(event)));
    });
    stage.addEventListener("pointerup", (event) => {
      const drag = state.drag;
      state.drag = null;
      band.hidden = true;
      if (!drag || Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < 6) return;
      const region = dragged(drag.start, toImage(event));
      if (isVideo()) change({ ...current(), add_range: { region, first: state.range.first, last: state.range.last } });
      else change({ ...current(), add_mask: region });
    });
  }

  // -- export -------------------------------------------------------------------------------------
  async function startExport(ids) {
    try {
      await api("/api/export", ids ? { ids } : {});
    } catch (error) {
      return say(error.message, true);
    }
    pollExport();
  }

  async function pollExport() {
    const status = await api("/api/export");
    let frames = "";
    if (status.frames) {
      const [done, total] = status.frames;
      frames = ` (${total ? t("editor.export_frame_of", { done, total }) : t("editor.export_frame", { done })})`;
    }
    say(t("editor.exporting", { done: status.done, total: status.total, frames }));
    if (status.running) return setTimeout(pollExport, 400);
    const written = status.results.filter((r) => r.verdict === "verified" || r.verdict === "unverified").length;
    const summary = t("editor.export_summary", { written, refused: status.refused, failed: status.failed });
    say(t("editor.export_done", { summary }), status.refused + status.failed > 0);
    $("results-summary").textContent = status.total ? summary : t("editor.export_nothing");
    $("results-list").replaceChildren(
      ...status.results.map((r) => {
        const li = el("li", `verdict ${r.verdict}`, `${r.name} \u2192 ${r.output}: ${known("editor.verdict", r.verdict)}`);
        li.dataset.verdict = r.verdict;
        if (r.message) li.append(el("div", "message", r.message));
        return li;
      }),
    );
    $("results").hidden = false;
    if ($("editor-view").hidden) showGrid(state.page);
    else if (state.item) openItem(state.item.id); // a video's new tracks and frames
  }

  // -- keys and buttons ---------------------------------------------------------------------------
  function onKey(event) {
    if ($("editor-view").hidden || event.target.tagName === "SELECT") return;
    if ((event.ctrlKey || event.metaKey) && event.key === "z") {
      event.preventDefault();
      return undo();
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.id === "scrub" && event.key.startsWith("Arrow")) return; // the slider steps itself
    const video = isVideo();
    const step = event.shiftKey ? 10 : 1;
    const videoActions = {
      " ": () => play(!state.playing),
      ArrowLeft: () => seek(state.frame - step),
      ArrowRight: () => seek(state.frame + step),
      Home: () => seek(0),
      End: () => seek(state.item.frames - 1),
      "[": () => setRange("first"),
      "]": () => setRange("last"),
    };
    if (video && videoActions[event.key] && !(event.target.tagName === "BUTTON" && event.key === " ")) {
      event.preventDefault();
      return videoActions[event.key]();
    }
    if (isVideo() && ["ArrowLeft", "ArrowRight", " "].includes(event.key)) return;
    const actions = {
      Delete: () => state.hover && state.hover.kind !== "removed" && toggle(state.hover),
      Backspace: () => state.hover && state.hover.kind !== "removed" && toggle(state.hover),
      z: undo,
      n: () => go(1),
      p: () => go(-1),
      o: () => setPeek(!state.peeking),
      Escape: () => (location.hash = `#page/${Math.floor((state.item ? state.item.id : 0) / state.size)}`),
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  }

  function wire() {
    $("prev-page").addEventListener("click", () => (location.hash = `#page/${Math.max(0, state.page - 1)}`));
    $("next-page").addEventListener("click", () => (location.hash = `#page/${Math.min(state.pages - 1, state.page + 1)}`));
    $("back").addEventListener("click", () => onKey({ key: "Escape", target: {}, preventDefault() {} }));
    $("prev").addEventListener("click", () => go(-1));
    $("next").addEventListener("click", () => go(1));
    $("undo").addEventListener("click", undo);
    $("peek").addEventListener("click", () => setPeek(!state.peeking));
    $("style").addEventListener("change", (event) => {
      event.target.blur(); // back to the keyboard shortcuts
      change({ ...current(), mask: event.target.value || null });
    });
    $("export").addEventListener("click", () => startExport());
    $("export-one").addEventListener("click", () => state.item && startExport([state.item.id]));
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
    $("results-close").addEventListener("click", () => ($("results").hidden = true));
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", route);
    $("language").addEventListener("change", async (event) => {
      sessionStorage.setItem("unseen-language", event.target.value); // the desk speaks it too, back there
      await language(event.target.value);
      route();
    });
    wireStage();
  }

  wire();
  // the desk's choice first (its link, or this tab's earlier switch), else the browser's language
  const asked = new URLSearchParams(location.search).get("lang") || sessionStorage.getItem("unseen-language");
  const lang = [asked, document.documentElement.lang].find((l) => ["en", "ru", "uk", "be"].includes(l)) || "en";
  language(lang).catch(() => null).then(route);
})();
