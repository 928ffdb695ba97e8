// unseen review: shared state, words, the server's api, the grid and export. Talks only to the server that served it.
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
  // the one name the review's scripts share: made here, editor.js and video.js (loaded after) add to it
  const review = (window.unseenReview = { state, $, isVideo });

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
    if (item) return review.openItem(Number(item[1]));
    const page = location.hash.match(/^#page\/(\d+)$/);
    return showGrid(page ? Number(page[1]) : 0);
  }

  // -- grid ---------------------------------------------------------------------------------------
  async function showGrid(page) {
    review.setPeek(false);
    review.play(false);
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
    else if (state.item) review.openItem(state.item.id); // a video's new tracks and frames
  }

  // -- buttons and start ---------------------------------------------------------------------------
  function wire() {
    $("prev-page").addEventListener("click", () => (location.hash = `#page/${Math.max(0, state.page - 1)}`));
    $("next-page").addEventListener("click", () => (location.hash = `#page/${Math.min(state.pages - 1, state.page + 1)}`));
    $("export").addEventListener("click", () => startExport());
    $("export-one").addEventListener("click", () => state.item && startExport([state.item.id]));
    $("results-close").addEventListener("click", () => ($("results").hidden = true));
    window.addEventListener("hashchange", route);
    $("language").addEventListener("change", async (event) => {
      sessionStorage.setItem("unseen-language", event.target.value); // the desk speaks it too, back there
      await language(event.target.value);
      route();
    });
    review.wireEditor();
    review.wireVideo();
  }

  Object.assign(review, { t, known, url, api, el, say, faces });

  // deferred scripts all run, in page order, before DOMContentLoaded: by then editor.js and video.js are in
  document.addEventListener("DOMContentLoaded", () => {
    wire();
    // the desk's choice first (its link, or this tab's earlier switch), else the browser's language
    const asked = new URLSearchParams(location.search).get("lang") || sessionStorage.getItem("unseen-language");
    const lang = [asked, document.documentElement.lang].find((l) => ["en", "ru", "uk", "be"].includes(l)) || "en";
    language(lang).catch(() => null).then(route);
  });
})();
