// unseen review: the editor of one item: its masks, edits and undo, the original on request, the keys.
"use strict";
(() => {
  const review = window.unseenReview;
  const { state, $, isVideo, t, known, url, api, el, say, faces } = review;

  // -- editor -------------------------------------------------------------------------------------
  async function openItem(id) {
    $("grid-view").hidden = true;
    $("editor-view").hidden = false;
    if (!state.item || state.item.id !== id) state.undo = [];
    setPeek(false);
    review.play(false);
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
    review.showRefusal(item);
    $("player").hidden = item.kind !== "video";
    $("stage").classList.toggle("video", item.kind === "video");
    $("stage").style.setProperty("--aspect", item.width / item.height);
    $("photo-help").hidden = item.kind === "video";
    if (item.kind === "video") {
      if (!same) {
        Object.assign(state, { frame: 0, range: null, loading: false, wanted: false });
      }
      review.showVideo(item);
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
    if (item.kind === "video") review.drawVideoMasks(overlay);
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
    if (isVideo()) review.loadFrame();
    else $("picture").src = pictureUrl();
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
    const videoActions = review.videoKeys(event);
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

  function wireEditor() {
    $("back").addEventListener("click", () => onKey({ key: "Escape", target: {}, preventDefault() {} }));
    $("prev").addEventListener("click", () => go(-1));
    $("next").addEventListener("click", () => go(1));
    $("undo").addEventListener("click", undo);
    $("peek").addEventListener("click", () => setPeek(!state.peeking));
    $("style").addEventListener("change", (event) => {
      event.target.blur(); // back to the keyboard shortcuts
      change({ ...current(), mask: event.target.value || null });
    });
    document.addEventListener("keydown", onKey);
    wireStage();
  }

  Object.assign(review, { openItem, setPeek, pct, place, drawMasks, pictureUrl, current, change, wireEditor });
})();
