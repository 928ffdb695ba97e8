// unseen desk: add files, watch them masked and checked, review, save. Talks only to its own server.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const state = { words: {}, lang: "en", entries: [], saved: {}, zipped: false, uploads: [], uploading: false,
    total: 0, sent: 0, asked: new Set(), timer: 0, closed: false };

  // -- words ----------------------------------------------------------------------------------------
  function t(key, vars = {}) {
    let text = state.words[key];
    if (text === undefined) text = key;
    if (typeof text === "object") {
      const rule = new Intl.PluralRules(state.lang).select(vars.n === undefined ? 0 : vars.n);
      text = text[rule] !== undefined ? text[rule] : text.other;
    }
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? "" : String(vars[name])));
  }
  const list = (items) => items.join(", ");
  const meta = (label) => (state.words[`meta.${label}`] !== undefined ? t(`meta.${label}`) : label);
  const places = (where) => where.map((p) => t(`where.${p}`)).filter(Boolean).join(t("list.and"));

  async function language(lang) {
    const response = await fetch(url(`/static/locales/${lang}.json`), { headers: { "X-Unseen-Token": token } });
    state.words = await response.json();
    state.lang = lang;
    document.documentElement.lang = lang;
    $("language").value = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
    for (const node of $("list").children) node.dataset.key = ""; // every entry says it again in the new words
    render();
  }

  // -- talking to the server ------------------------------------------------------------------------
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
    if (!response.ok) throw Object.assign(new Error(data.error || response.statusText), { code: data.code });
    return data;
  }

  // -- adding files: dropped (files and folders), picked, or a picked folder ----------------------------
  function entriesOf(transfer) {
    // read every item now: a DataTransfer is emptied once the drop event is over
    const found = [];
    for (const item of transfer.items || []) {
      if (item.kind !== "file") continue;
      const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      found.push(entry ? { entry } : { file: item.getAsFile() });
    }
    if (!found.length) for (const file of transfer.files || []) found.push({ file });
    return found;
  }

  async function walk(entry, out) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push([file, entry.fullPath.replace(/^\/+/, "")]);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, out);
      }
    }
  }

  async function dropped(found) {
    const files = [];
    for (const one of found) {
      if (one.entry) await walk(one.entry, files);
      else if (one.file) files.push([one.file, one.file.name]);
    }
    add(files);
  }

  function add(files) {
    const wanted = files.filter(([, name]) => !name.split("/").some((part) => part.startsWith(".")));
    state.uploads.push(...wanted);
    state.total += wanted.length;
    if (!state.uploading) upload();
  }

  function send(file, name, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/upload");
      xhr.setRequestHeader("X-Unseen-Token", token);
      xhr.setRequestHeader("X-Unseen-Name", encodeURIComponent(name));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded / event.total));
      xhr.addEventListener("load", () => {
        let data = {};
        try {
          data = JSON.parse(xhr.responseText);
        } catch (error) {
          data = {};
        }
        if (xhr.status < 300) resolve(data);
        else reject(Object.assign(new Error(data.error || xhr.statusText), { code: data.code }));
      });
      xhr.addEventListener("error", () => reject(Object.assign(new Error("network"), { code: "network" })));
      xhr.send(file);
    });
  }

  // one file at a time: the server writes each to disk as it comes, and starts on it at once
  async function upload() {
    state.uploading = true;
    const status = $("upload-status");
    const bar = $("upload-progress");
    bar.hidden = false;
    let failed = 0;
    while (state.uploads.length) {
      const [file, name] = state.uploads.shift();
      state.sent += 1;
      const show = (part) => {
        const percent = Math.round(part * 100);
        status.textContent = t("add.uploading", { n: state.sent, total: state.total, name, percent });
        bar.value = ((state.sent - 1 + part) / state.total) * 100;
      };
      show(0);
      try {
        await send(file, name, show);
      } catch (error) {
        failed += 1;
        const why = { too_big: "add.too_big", no_room: "add.no_room", network: "add.network" }[error.code];
        status.textContent = t("add.refused", { name, why: why ? t(why) : error.message });
        if (error.code === "network") break;
      }
      refreshSoon();
    }
    bar.hidden = true;
    if (!failed) status.textContent = t("add.added", { n: state.sent });
    state.uploading = false;
  }

  // -- the list --------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
  // a moment in a clip as mm:ss.s, the way a player shows it
  const stamp = (seconds) => {
    const tenths = Math.round(seconds * 10);
    return `${String(Math.floor(tenths / 600)).padStart(2, "0")}:${((tenths % 600) / 10).toFixed(1).padStart(4, "0")}`;
  };
  // the frames a refusal names, each with its time: "frame 13 (00:00.9), frame 20 (00:01.3) and 4 more"
  function moments(reason) {
    const named = reason.frames.map((f) => t("refused.at_frame", { frame: f.frame + 1, time: f.seconds === null ? "?" : stamp(f.seconds) }));
    const more = reason.more ? `${t("list.and")}${t("refused.more", { n: reason.more })}` : "";
    return t("refused.when", { list: list(named) + more });
  }

  // text on people and elsewhere, in sentences: what was masked and what was left
  function textWords(text) {
    if (!text) return [];
    if (!text.checked) return [[t("done.text_unchecked")]];
    const out = [];
    if (text.people.masked) out.push([t("done.text_people_masked", { n: text.people.masked })]);
    if (text.people.left) out.push([t("done.text_people_left", { n: text.people.left }), "warn"]);
    if (text.other.masked) out.push([t("done.text_other_masked", { n: text.other.masked })]);
    if (text.other.left) out.push([t("done.text_other_left", { n: text.other.left })]);
    return out;
  }

  function textLeft(text) {
    if (!text || !text.checked) return [];
    const out = [];
    if (text.people.left) out.push(t("summary.text_people_left", { n: text.people.left }));
    if (text.other.left) out.push(t("summary.text_other_left", { n: text.other.left }));
    return out;
  }

  function why(error) {
    const known = ["unreadable", "unsupported", "too_large", "output"];
    return t(`error.${known.includes(error) ? error : "other"}`);
  }

  // what happened to one file, in sentences: [text, class]
  function words(e) {
    const out = [];
    if (e.state === "waiting") out.push([t("state.waiting")]);
    if (e.state === "working") {
      if (e.frames && e.frames[1]) {
        const left = e.seconds_left !== null ? ` \u00b7 ${t("state.left", { time: clock(e.seconds_left) })}` : "";
        out.push([t("state.frames", { done: e.frames[0], total: e.frames[1] }) + left]);
      } else if (e.frames) out.push([t("state.frames_open", { done: e.frames[0] })]);
      else out.push([t("state.working")]);
    }
    if (e.state === "done" || e.state === "refused") {
      if (e.state === "refused") out.push([t("refused.title"), "bad"]);
      for (const reason of e.reasons) {
        const where = places(reason.places || []);
        if (reason.kind === "face_found") out.push([t(e.kind === "video" ? "refused.face_found_video" : "refused.face_found", { places: where }).replace(" .", ".")]);
        else if (reason.kind === "recognisable") out.push([t("refused.recognisable", { places: where }).replace(" .", ".")]);
        else if (reason.kind === "metadata") out.push([t("refused.metadata", { list: list(reason.labels.map(meta)) })]);
        else out.push([t("refused.unknown")]);
        if (reason.frames && reason.frames.length) out.push([moments(reason)]);
      }
      if (e.state === "refused") out.push([t(e.kind === "video" ? "refused.advice_video" : "refused.advice")]);
      if (e.faces !== null && e.state === "done") {
        const faces = e.kind === "video" ? "done.tracks" : "done.faces";
        out.push([e.faces ? t(faces, { n: e.faces }) : t("done.no_faces")]);
      }
      out.push(...textWords(e.text));
      if (e.state === "done") {
        out.push([e.metadata.length ? t("done.metadata", { list: list(e.metadata.map(meta)) }) : t("done.no_metadata")]);
        out.push(e.verdict === "verified" ? [t("done.verified"), "ok"] : [t("done.unverified"), "bad"]);
        if (e.left_bare) out.push([t("done.left_bare"), "warn"]);
        for (const wide of e.masks_wide || []) {
          const values = { percent: wide.percent, frame_percent: wide.frame_percent, frame: wide.frame + 1, time: wide.seconds === null ? "?" : stamp(wide.seconds) };
          out.push([wide.kind === "found" ? t("done.masks_found", values) : t("done.masks_beyond", values), "warn"]);
        }
      }
      if (e.changed) out.push([t("state.changed"), "bad"]);
    }
    if (e.state === "failed") out.push([t("failed.title", { why: why(e.error) }), "bad"]);
    if (e.state === "skipped") out.push([t("skipped")]);
    return out;
  }

  function entryNode(e) {
    const li = el("li", "entry");
    li.dataset.id = e.id;
    const thumb = el("div", "thumb");
    const name = el("h3", "name", e.name);
    const kind = el("span", "kind");
    name.append(kind);
    const text = el("div", "words");
    const progress = el("progress");
    progress.max = 1;
    progress.hidden = true;
    const actions = el("div", "actions");
    li.append(thumb, name, actions, text, progress);
    return li;
  }

  function update(li, e) {
    const key = JSON.stringify([e.state, e.frames, e.seconds_left, e.changed, e.version, e.seconds]);
    if (li.dataset.key === key) return;
    li.dataset.key = key;
    li.className = `entry ${e.state}`;
    li.dataset.state = e.state;
    li.querySelector(".kind").textContent = e.kind === "video" ? `(${t("files.video")})` : "";
    li.querySelector(".words").replaceChildren(...words(e).map(([line, cls]) => el("p", cls, line)));
    const progress = li.querySelector("progress");
    progress.hidden = !(e.state === "working" && e.frames && e.frames[1]);
    if (!progress.hidden) {
      progress.max = e.frames[1];
      progress.value = e.frames[0];
      progress.setAttribute("aria-label", t("files.progress", { name: e.name }));
    }
    const thumb = li.querySelector(".thumb");
    const finished = e.state === "done" || e.state === "refused";
    const src = finished ? url(`/api/items/${e.id}/thumb`, `&v=${e.version}&s=${e.seconds}`) : null;
    if (!src) thumb.replaceChildren();
    else if (thumb.dataset.src !== src) {
      const img = el("img");
      img.alt = t("files.preview", { name: e.name });
      img.src = src;
      thumb.replaceChildren(img);
    } else if (thumb.firstChild) thumb.firstChild.alt = t("files.preview", { name: e.name });
    thumb.dataset.src = src || "";
    const actions = li.querySelector(".actions");
    actions.replaceChildren();
    if (finished) {
      const review = el("a", "button", t("files.review"));
      review.href = url("/review", `&lang=${state.lang}#item/${e.id}`);
      review.setAttribute("aria-label", t("files.review_name", { name: e.name }));
      review.classList.toggle("primary", e.state === "refused");
      actions.append(review);
    }
    if (e.changed) {
      const apply = el("button", "", t("files.apply"));
      apply.type = "button";
      apply.addEventListener("click", () => redo([e.id]));
      actions.append(apply);
    }
  }

  function render() {
    const entries = state.entries;
    const list = $("list");
    const known = new Map([...list.children].map((li) => [Number(li.dataset.id), li]));
    for (const e of entries) {
      let li = known.get(e.id);
      if (!li) {
        li = entryNode(e);
        list.append(li);
      }
      update(li, e);
    }
    const count = (s) => entries.filter((e) => e.state === s).length;
    const counts = { total: entries.length, done: count("done"), refused: count("refused"), failed: count("failed"),
      working: count("working"), waiting: count("waiting"), skipped: count("skipped") };
    let overall = t("files.empty");
    if (entries.length) overall = t(counts.working + counts.waiting ? "files.overall" : "files.finished", { ...counts, n: counts.total });
    if ($("overall").textContent !== overall) $("overall").textContent = overall;
    summary();
  }

  // -- summary ----------------------------------------------------------------------------------------
  function summary() {
    const rows = state.entries.map((e) => {
      const tr = el("tr");
      const saved = state.saved[e.id] || (state.zipped && e.state === "done" && !e.changed ? t("summary.in_zip") : "");
      const did = words(e).filter(([, cls]) => cls !== "bad" && cls !== "warn").map(([line]) => line);
      let left = t("summary.nothing_left");
      if (e.state === "waiting" || e.state === "working") left = t("summary.not_finished");
      else if (e.state === "refused") left = t("summary.refused");
      else if (e.state === "failed") left = t("summary.failed", { why: why(e.error) });
      else if (e.state === "skipped") left = t("summary.skipped");
      else if (e.changed) left = t("summary.changed");
      else if (!saved) left = t("summary.not_saved");
      if (e.state === "done" && textLeft(e.text).length) {
        left = [...(left === t("summary.nothing_left") ? [] : [left]), ...textLeft(e.text)].join(" ");
      }
      const name = el("th", "", e.name);
      name.scope = "row";
      tr.append(name, el("td", "", saved), el("td", "", e.state === "done" ? did.join(" ") : ""), el("td", "", left));
      return tr;
    });
    $("summary-rows").replaceChildren(...rows);
    $("summary").hidden = !rows.length;
  }

  // -- polling, redo, save, close ----------------------------------------------------------------------
  async function refresh(first = false) {
    clearTimeout(state.timer);
    if (state.closed) return;
    try {
      const data = await api("/api/desk");
      state.entries = data.entries;
      if (first && !$("folder").value) $("folder").value = data.folder;
      render();
      if (first) {
        // back from the editor: what was changed there is done again with the changes
        const changed = data.entries.filter((e) => e.changed && !state.asked.has(e.id)).map((e) => e.id);
        if (changed.length) redo(changed);
      }
      state.timer = setTimeout(refresh, data.busy || state.uploading ? 1000 : 5000);
    } catch (error) {
      state.timer = setTimeout(refresh, 5000);
    }
  }
  const refreshSoon = () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, 150);
  };

  async function redo(ids) {
    ids.forEach((id) => state.asked.add(id));
    await api("/api/redo", { ids }).catch(() => null);
    refreshSoon();
  }

  async function save() {
    const status = $("export-status");
    status.classList.remove("bad");
    status.textContent = t("export.saving");
    try {
      const result = await api("/api/save", { folder: $("folder").value });
      for (const one of result.saved) state.saved[one.id] = one.as;
      const unfinished = state.entries.filter((e) => e.state === "waiting" || e.state === "working").length;
      const parts = [result.saved.length ? t("export.saved", { n: result.saved.length, folder: result.folder }) : t("export.nothing")];
      if (unfinished) parts.push(t("export.unfinished", { n: unfinished }));
      status.textContent = parts.join(" ");
      render();
      $("summary").scrollIntoView();
    } catch (error) {
      status.classList.add("bad");
      status.textContent = error.code ? t(`export.${error.code}`) : error.message;
    }
  }

  async function close() {
    if (!window.confirm(t("close.confirm"))) return;
    await api("/api/quit", {}).catch(() => null);
    state.closed = true;
    clearTimeout(state.timer);
    for (const section of document.querySelectorAll("main section")) section.hidden = true;
    $("closed").hidden = false;
    $("close").disabled = true;
  }

  function wire() {
    const drop = $("drop");
    for (const name of ["dragenter", "dragover"]) {
      document.addEventListener(name, (event) => {
        event.preventDefault();
        drop.classList.add("over");
      });
    }
    document.addEventListener("dragleave", (event) => event.relatedTarget === null && drop.classList.remove("over"));
    document.addEventListener("drop", (event) => {
      event.preventDefault(); // never let the browser open the dropped file itself
      drop.classList.remove("over");
      if (!state.closed && event.dataTransfer) dropped(entriesOf(event.dataTransfer));
    });
    $("choose-files").addEventListener("click", () => $("pick-files").click());
    $("choose-folder").addEventListener("click", () => $("pick-folder").click());
    for (const id of ["pick-files", "pick-folder"]) {
      $(id).addEventListener("change", (event) => {
        add([...event.target.files].map((file) => [file, file.webkitRelativePath || file.name]));
        event.target.value = "";
      });
    }
    $("language").addEventListener("change", (event) => {
      sessionStorage.setItem("unseen-language", event.target.value); // kept when coming back from the editor
      language(event.target.value);
    });
    $("save").addEventListener("click", save);
    $("folder").addEventListener("keydown", (event) => event.key === "Enter" && save());
    $("zip").addEventListener("click", () => {
      state.zipped = true;
      $("zip-status").textContent = t("export.zipped");
      render();
    });
    $("close").addEventListener("click", close);
  }

  wire();
  const lang = sessionStorage.getItem("unseen-language") || document.documentElement.lang;
  language(["en", "ru", "uk", "be"].includes(lang) ? lang : "en").then(() => refresh(true));
})();
