// The guide panel of the agent desk: plain JavaScript, no build step, served at /guide.js.
// It needs only a container <section id="guide-panel"> on the page: it reads the agent's token
// like the page does (?token= or sessionStorage), follows the agent's own offer stream, and shows
// for each assigned contact its guide — the steps, the current one with the customer data it
// shows, its answer, skip with a reason, notes — through the desk's guide API.
(() => {
  const panel = document.getElementById("guide-panel");
  if (!panel) return;
  const token = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("cc-desk-token");
  if (!token) return;
  const pops = new Map();      // offer id → screen pop (with its guide)
  const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    Object.assign(node.dataset, dataset);
    children.forEach(c => node.append(c)); return node;
  };
  const api = async (method, path, body) => {
    const answer = await fetch(path, { method, headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw Object.assign(new Error(data.error || String(answer.status)), { data });
    return data;
  };
  const base = (contactId) => `/api/contacts/${encodeURIComponent(contactId)}/guide`;
  const label = (name) => name.replace(/_/g, " ");

  function dataView(data) {
    const box = el("div", { className: "guide-data" });
    Object.entries(data || {}).forEach(([name, value]) => {
      let text;
      if (Array.isArray(value)) {
        text = value.length ? value.map(v => typeof v === "object" ? Object.entries(v).filter(([, x]) => x !== null && x !== "").map(([k, x]) => `${label(k)}: ${x}`).join(", ") : v).join(" · ") : "none";
      } else if (value && typeof value === "object") {
        text = Object.entries(value).filter(([, x]) => x !== null && x !== "").map(([k, x]) => `${label(k)}: ${x}`).join(", ");
      } else { text = String(value); }
      box.append(el("div", { className: "guide-data-" + name }, el("strong", { textContent: label(name) + ": " }), text));
    });
    return box;
  }

  function render(card, contactId, guide) {
    card.replaceChildren();
    const error = el("div", { className: "guide-error", role: "alert" });
    const act = async (method, path, body) => {
      try { render(card, contactId, await api(method, path, body)); }
      catch (e) { error.textContent = e.message; }
    };
    if (!guide || guide.status === "none") {
      const choose = el("select", { className: "guide-choice" });
      ((guide && guide.available) || []).forEach(g => choose.append(el("option", { value: g.guide_id, textContent: g.title })));
      const start = el("button", { className: "guide-start", type: "button", textContent: "Start guide" });
      start.onclick = () => act("POST", base(contactId), { guide_id: choose.value });
      card.append(el("div", {}, "No guide for this contact yet: ", choose, " ", start), error);
      return;
    }
    card.dataset.status = guide.status;
    card.append(el("h3", { textContent: `${guide.title} (${contactId})` }));
    const list = el("ol", { className: "guide-steps" });
    guide.steps.forEach(s => list.append(el("li", { textContent: `${s.title}${s.required ? " *" : ""} — ${s.status}${s.value ? ": " + s.value : ""}`, dataset: { step: s.id, status: s.status } })));
    card.append(list);
    if (guide.missing_required && guide.missing_required.length && guide.status !== "completed") {
      card.append(el("div", { className: "guide-missing", textContent: "Required before completing: " + guide.missing_required.map(label).join(", ") }));
    }
    const step = guide.current_step;
    if (guide.status === "escalated") card.append(el("div", { className: "guide-escalated", textContent: "Escalated: a specialist resumes this guide." }));
    if (step && guide.status === "active") {
      const box = el("div", { className: "guide-current", dataset: { step: step.id } });
      box.append(el("div", { className: "guide-step-title" }, el("strong", { textContent: step.title }), step.required ? " (required)" : ""));
      if (step.instructions) box.append(el("div", { className: "guide-instructions", textContent: step.instructions }));
      if (step.unmet && step.unmet.length) box.append(el("div", { className: "guide-unmet", textContent: "Needs first: " + step.unmet.map(label).join(", ") }));
      box.append(dataView(step.data));
      const record = (value) => act("POST", `${base(contactId)}/steps/${encodeURIComponent(step.id)}`, { value });
      if (step.record === "note") {
        const value = el("textarea", { className: "guide-value", rows: 2 });
        const save = el("button", { className: "guide-record", type: "button", textContent: "Record" });
        save.onclick = () => record(value.value);
        box.append(el("div", {}, value, save));
      } else {
        const answers = el("div", { className: "guide-answers" });
        step.options.forEach(v => { const b = el("button", { className: "guide-answer", type: "button", textContent: step.escalates ? "Escalate" : v, dataset: { value: v } }); b.onclick = () => record(v); answers.append(b, " "); });
        box.append(answers);
      }
      const reason = el("input", { className: "guide-skip-reason", placeholder: "Reason to skip" });
      const skip = el("button", { className: "guide-skip", type: "button", textContent: "Skip" });
      skip.onclick = () => act("POST", `${base(contactId)}/steps/${encodeURIComponent(step.id)}/skip`, { reason: reason.value });
      box.append(el("div", {}, reason, skip));
      card.append(box);
    }
    const notes = el("ul", { className: "guide-notes" });
    (guide.notes || []).forEach(n => notes.append(el("li", { textContent: `${n.by || ""}${n.step_id ? " @ " + label(n.step_id) : ""}: ${n.text}` })));
    const text = el("input", { className: "guide-note-text", placeholder: "Note for this contact" });
    const add = el("button", { className: "guide-note", type: "button", textContent: "Add note" });
    add.onclick = () => act("POST", `${base(contactId)}/notes`, { text: text.value });
    if (guide.status !== "completed") card.append(el("div", {}, text, add));
    card.append(notes, error);
  }

  function show(pop) {
    let card = panel.querySelector(`.guide[data-contact-id="${CSS.escape(pop.contact_id)}"]`);
    if (!card) { card = el("div", { className: "guide card" }); card.dataset.contactId = pop.contact_id; panel.append(card); }
    render(card, pop.contact_id, pop.guide);
    api("GET", base(pop.contact_id)).then(g => render(card, pop.contact_id, g)).catch(() => {});  // the pop may be older
  }

  const events = new EventSource("/api/stream?token=" + encodeURIComponent(token));
  events.addEventListener("offer", (e) => { const pop = JSON.parse(e.data).offer; pops.set(pop.offer_id, pop); });
  events.addEventListener("assignment", (e) => show(JSON.parse(e.data).assignment));
  events.addEventListener("contact_assigned", (e) => {
    const record = JSON.parse(e.data).record, pop = pops.get(record.offer_id);
    if (pop) show(pop);
  });
  events.addEventListener("contact_released", (e) => {
    const card = panel.querySelector(`.guide[data-contact-id="${CSS.escape(JSON.parse(e.data).record.contact_id)}"]`);
    if (card) card.remove();
  });
  events.onopen = () => { panel.dataset.stream = "open"; };
})();
