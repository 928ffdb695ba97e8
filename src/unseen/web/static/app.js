// unseen review: the grid, the editor and export. Talks only to the server that served it.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const state = { page: 0, pages: 1, size: 48, item: null, undo: [], hover: null, peeking: false, drag: null };

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

  const faces = (n) => (n === null || n === undefined ? "faces: not checked yet" : `${n} face${n === 1 ? "" : "s"}`);

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
    const skipped = data.skipped ? ` \u00b7 ${data.skipped} other file(s) left out: not photos (videos cannot be reviewed yet)` : "";
    $("page-info").textContent = `page ${data.page + 1} of ${data.pages} \u00b7 ${data.total} photos${skipped}`;
    $("prev-page").disabled = data.page === 0;
    $("next-page").disabled = data.page >= data.pages - 1;
    pending(data.pending);
    $("grid").replaceChildren(...data.items.map(card));
  }

  function pending(n) {
    $("export").textContent = n ? `Export (${n})` : "Export";
  }

  function card(item) {
    const li = el("li", "card");
    li.dataset.id = item.id;
    const link = el("a");
    link.href = `#item/${item.id}`;
    const img = el("img");
    img.loading = "lazy";
    img.alt = `${item.name}, masked`;
    const masked = url(`/api/items/${item.id}/thumb`, `&v=${item.version}`);
    img.src = masked;
    img.addEventListener("error", () => link.replaceChildren(el("span", "broken", "cannot show this file")));
    img.addEventListener("load", refreshSoon);
    link.append(img);
    const peek = el("button", "peek", "Original");
    peek.title = "Show the unmasked original here";
    peek.addEventListener("click", () => {
      const showing = li.classList.toggle("original");
      img.src = showing ? url(`/api/items/${item.id}/original`, "&small=1") : masked;
      img.alt = `${item.name}, ${showing ? "ORIGINAL, unmasked" : "masked"}`;
      peek.textContent = showing ? "Masked" : "Original";
    });
    li.append(link, el("div", "name", item.name), meta(item), peek);
    return li;
  }

  function meta(item) {
    const node = el("div", "meta");
    node.append(el("span", `verdict ${item.verdict.replace(/\W/g, "-")}`, item.verdict), el("span", "faces", faces(item.faces)));
    if (item.edited) node.append(el("span", "edited", "edited"));
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
    $("title").textContent = "looking for faces\u2026";
    try {
      show(await api(`/api/items/${id}`));
    } catch (error) {
      $("title").textContent = error.message;
    }
  }

  function show(item) {
    state.item = item;
    state.hover = null;
    $("title").textContent = `${item.id + 1}/${item.total} \u00b7 ${item.name} \u00b7 ${faces(item.faces)} \u00b7 ${item.verdict}`;
    const picture = $("picture");
    picture.src = url(`/api/items/${item.id}/preview`, `&v=${item.version}`);
    picture.alt = `${item.name}, masked`;
    const style = $("style");
    style.replaceChildren(el("option", "", `default (${item.default_mask})`), ...item.styles.map((s) => el("option", "", s)));
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
    for (const mask of item.masks) {
      const node = el("div", `mask ${mask.kind} ${item.shape}`);
      place(node, mask.mask_box);
      node.dataset.kind = mask.kind;
      node.title = mask.kind === "removed" ? "removed: click to mask again" : `${mask.kind}: click to remove`;
      node.addEventListener("pointerdown", (event) => event.stopPropagation());
      node.addEventListener("click", (event) => {
        event.stopPropagation();
        toggle(mask);
      });
      node.addEventListener("pointerenter", () => (state.hover = mask));
      node.addEventListener("pointerleave", () => state.hover === mask && (state.hover = null));
      overlay.append(node);
    }
  }

  const current = () => ({ added: state.item.added, removed: state.item.removed, mask: state.item.mask });

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
      say("saved");
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

  function setPeek(on) {
    const peeking = on && !!state.item && !$("editor-view").hidden;
    const changed = peeking !== state.peeking;
    state.peeking = peeking;
    const item = state.item;
    $("stage").classList.toggle("peeking", state.peeking);
    $("peek-label").hidden = !state.peeking;
    $("overlay").hidden = state.peeking;
    $("peek").textContent = state.peeking ? "Masked" : "Original";
    if (!item || !changed) return;
    $("picture").src = state.peeking
      ? url(`/api/items/${item.id}/original`)
      : url(`/api/items/${item.id}/preview`, `&v=${item.version}`);
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
      change({ ...current(), add_mask: dragged(drag.start, toImage(event)) });
    });
  }

  // -- export -------------------------------------------------------------------------------------
  async function startExport() {
    try {
      await api("/api/export", {});
    } catch (error) {
      return say(error.message, true);
    }
    pollExport();
  }

  async function pollExport() {
    const status = await api("/api/export");
    say(`exporting ${status.done}/${status.total}\u2026`);
    if (status.running) return setTimeout(pollExport, 400);
    const written = status.results.filter((r) => r.verdict === "verified" || r.verdict === "unverified").length;
    const summary = `${written} written, ${status.refused} refused, ${status.failed} failed`;
    say(`export done: ${summary}`, status.refused + status.failed > 0);
    $("results-summary").textContent = status.total ? summary : "nothing to export: every output is up to date";
    $("results-list").replaceChildren(
      ...status.results.map((r) => {
        const li = el("li", `verdict ${r.verdict}`, `${r.name} \u2192 ${r.output}: ${r.verdict}`);
        li.dataset.verdict = r.verdict;
        if (r.message) li.append(el("div", "message", r.message));
        return li;
      }),
    );
    $("results").hidden = false;
    if ($("editor-view").hidden) showGrid(state.page);
  }

  // -- keys and buttons ---------------------------------------------------------------------------
  function onKey(event) {
    if ($("editor-view").hidden || event.target.tagName === "SELECT") return;
    if ((event.ctrlKey || event.metaKey) && event.key === "z") {
      event.preventDefault();
      return undo();
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
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
    $("export").addEventListener("click", startExport);
    $("results-close").addEventListener("click", () => ($("results").hidden = true));
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", route);
    wireStage();
    route();
  }

  wire();
})();
