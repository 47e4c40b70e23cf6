// The guide panel of the agent desk (plain JS, no build step; docs/guides.md). It mounts into
// the page's panel host (#panels) and works through the page's `window.desk`: its
// authenticated `api` and its `events` — "conversation-selected" shows that contact's guide,
// "stream-event" drops it when the contact is released. For the selected contact it shows the
// guide's steps, the current step with the customer data it shows, its answer, skip with a
// reason, notes, what is still required before completing, and the desk's refusals.
(() => {
  "use strict";
  const host = document.getElementById("panels");
  const desk = window.desk;
  if (!host || !desk) return;
  const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    Object.assign(node.dataset, dataset);
    children.forEach((c) => c !== null && c !== undefined && node.append(c));
    return node;
  };
  const label = (name) => String(name).replace(/_/g, " ");
  const base = (contactId) => `/api/contacts/${encodeURIComponent(contactId)}/guide`;
  const panel = el("section", { id: "guide-panel", className: "guide-panel", ariaLabel: "Guide" });
  const card = el("div", { className: "guide card" });
  panel.append(el("h2", { textContent: "Guide" }), card);
  host.append(panel);
  let current = null;  // the contact whose guide is shown

  // the customer data a step shows, as labelled fields (nested records as their own lists)
  const FIELD_LABEL = { known: "Known customer", chat_id: "Chat id", customer_id: "Customer id", sms_consent: "SMS consent", email_consent: "E-mail consent" };
  const fieldLabel = (name) => FIELD_LABEL[name] || label(name).replace(/^./, (c) => c.toUpperCase());
  function plain(value) {
    if (value === true) return "yes";
    if (value === false) return "no";
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }
  function fields(value, className) {
    const dd = el("dd", { className });
    if (Array.isArray(value)) {
      if (!value.length) { dd.textContent = "none"; return dd; }
      if (value.every((x) => !x || typeof x !== "object")) { dd.textContent = value.map(plain).join(" · "); return dd; }
      const list = el("ul", { className: "guide-records" });
      value.forEach((x) => list.append(el("li", {}, record(x))));
      dd.append(list);
    } else if (value && typeof value === "object") {
      dd.append(record(value));
    } else {
      dd.textContent = plain(value);
    }
    return dd;
  }
  function record(value) {
    if (!value || typeof value !== "object") return document.createTextNode(plain(value));
    const dl = el("dl", { className: "guide-fields" });
    Object.entries(value).filter(([, x]) => x !== null && x !== "" && x !== undefined).forEach(([k, x]) => {
      const dd = fields(x, "");
      dd.dataset.field = k;
      dl.append(el("dt", { textContent: fieldLabel(k) }), dd);
    });
    return dl;
  }

  function render(contactId, guide) {
    if (contactId !== current) return;
    card.replaceChildren();
    card.dataset.contactId = contactId;
    const error = el("div", { className: "guide-error", role: "alert" });
    const act = async (method, path, body) => {
      try { render(contactId, await desk.api(method, path, body)); } catch (e) { error.textContent = e.message; }
    };
    if (!guide || guide.status === "none" || guide.status === "unavailable") {
      card.dataset.status = guide ? guide.status : "none";
      const choose = el("select", { className: "guide-choice" });
      ((guide && guide.available) || []).forEach((g) => choose.append(el("option", { value: g.guide_id, textContent: g.title })));
      const start = el("button", { className: "guide-start", type: "button", textContent: "Start guide" });
      start.onclick = () => act("POST", base(contactId), { guide_id: choose.value });
      card.append(el("p", {}, "No guide for this contact: ", choose, " ", start), error);
      return;
    }
    card.dataset.status = guide.status;
    card.append(el("h3", { textContent: guide.title }));
    const list = el("ol", { className: "guide-steps" });
    guide.steps.forEach((s) => list.append(el("li", {
      textContent: `${s.title}${s.required ? " *" : ""} — ${label(s.status)}${s.value ? ": " + s.value : ""}`,
      dataset: { step: s.id, status: s.status },
    })));
    card.append(list);
    if (guide.status === "active" && guide.missing_required.length) {
      card.append(el("p", { className: "guide-missing", textContent: "Required before completing: " + guide.missing_required.map(label).join(", ") }));
    }
    if (guide.status === "escalated") card.append(el("p", { className: "guide-escalated", textContent: "Escalated: a specialist resumes this guide." }));
    const step = guide.current_step;
    if (step && guide.status === "active") {
      const box = el("div", { className: "guide-current", dataset: { step: step.id } });
      box.append(el("p", { className: "guide-step-title" }, el("strong", { textContent: step.title }), step.required ? " (required)" : ""));
      if (step.instructions) box.append(el("p", { className: "guide-instructions", textContent: step.instructions }));
      if (step.unmet.length) box.append(el("p", { className: "guide-unmet", textContent: "Needs first: " + step.unmet.map(label).join(", ") }));
      const data = el("dl", { className: "guide-data" });
      Object.entries(step.data || {}).forEach(([name, value]) => data.append(el("dt", { textContent: fieldLabel(name) }), fields(value, "guide-data-" + name)));
      box.append(data);
      const record = (value) => act("POST", `${base(contactId)}/steps/${encodeURIComponent(step.id)}`, { value });
      if (step.record === "note") {
        const value = el("textarea", { className: "guide-value", rows: 2, ariaLabel: step.title });
        const save = el("button", { className: "guide-record", type: "button", textContent: "Record" });
        save.onclick = () => record(value.value);
        box.append(el("div", {}, value, save));
      } else {
        const answers = el("div", { className: "guide-answers" });
        step.options.forEach((v) => {
          const b = el("button", { className: "guide-answer", type: "button", textContent: step.escalates ? "Hand over" : v, dataset: { value: v } });
          b.onclick = () => record(v);
          answers.append(b, " ");
        });
        box.append(answers);
      }
      const reason = el("input", { className: "guide-skip-reason", placeholder: "Reason to skip", ariaLabel: "Reason to skip" });
      const skip = el("button", { className: "guide-skip quiet", type: "button", textContent: "Skip" });
      skip.onclick = () => act("POST", `${base(contactId)}/steps/${encodeURIComponent(step.id)}/skip`, { reason: reason.value });
      box.append(el("div", {}, reason, skip));
      card.append(box);
    }
    const notes = el("ul", { className: "guide-notes" });
    (guide.notes || []).forEach((n) => notes.append(el("li", { textContent: `${n.by || ""}${n.step_id ? " @ " + label(n.step_id) : ""}: ${n.text}` })));
    if (guide.status !== "completed") {
      const note = el("input", { className: "guide-note-text", placeholder: "Note for this contact", ariaLabel: "Note" });
      const add = el("button", { className: "guide-note", type: "button", textContent: "Add note" });
      add.onclick = () => act("POST", `${base(contactId)}/notes`, { text: note.value });
      card.append(el("div", {}, note, add));
    }
    card.append(notes, error);
  }

  async function show(contactId, pop) {
    current = contactId;
    if (!contactId) { card.replaceChildren(); delete card.dataset.contactId; return; }
    if (pop && pop.guide) render(contactId, pop.guide);
    try { render(contactId, await desk.api("GET", base(contactId))); }  // the pop may be older
    catch (e) { if (current === contactId) card.replaceChildren(el("p", { className: "guide-error", textContent: e.message })); }
  }

  desk.events.addEventListener("conversation-selected", (e) => show(e.detail.contactId, e.detail.pop));
  desk.events.addEventListener("stream-event", (e) => {
    const record = (e.detail.data || {}).record || {};
    if (e.detail.type === "contact_released" && record.contact_id === current) show(null);
  });
  panel.dataset.ready = "1";
})();
