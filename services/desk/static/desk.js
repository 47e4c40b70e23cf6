// The agent desk page: sign-in (the token goes into an HttpOnly cookie, never the URL), the
// agent's state with its timer, offers with a countdown, the agent's conversations as live
// threads beside their screen pops, wrap-up with disposition codes, the queue for the agent's
// skills, and a banner while the stream is down. Plain JS, no build step.
//
// Other panels mount into #panels and may listen on `window.desk.events` (an EventTarget):
// "signed-in" {agent}, "conversation-selected" {contactId, pop}, "stream-event" {type, data}.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    children.forEach((c) => c !== null && c !== undefined && node.append(c));
    return node;
  };
  const events = new EventTarget();
  const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));
  const clock = (iso) => (iso ? new Date(iso) : new Date()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const dateTime = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "");
  const duration = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  };
  const STATE_LABEL = { ready: "Ready", not_ready: "Not ready", logged_out: "Logged out" };

  const desk = {
    agent: null,
    config: { disposition_codes: ["resolved"], canned_replies: [] },
    state: null, stateSince: Date.now(), stateReason: "",
    offers: new Map(),          // offer id → pop
    pops: new Map(),            // contact id → pop
    conversations: new Map(),   // contact id → {card, thread, seen:Set, startedAt, wrapupAt, unread}
    early: new Map(),           // contact id → messages pushed before its card exists
    selected: null,
    stream: null,
    loggedIn: false,
  };
  window.desk = { events, get agent() { return desk.agent; }, api: (...a) => api(...a) };

  // ---------------------------------------------------------------- HTTP
  async function api(method, path, body) {
    const headers = { "X-Desk-Page": "1" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let answer;
    try {
      answer = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      streamDown();
      reconnectSoon();  // the stream may look open while the desk is unreachable: check it
      throw new Error("the desk cannot be reached");
    }
    const text = await answer.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch { data = { error: text }; }
    if (answer.status === 401 && document.body.dataset.view === "desk") { showSignIn("Your session ended; sign in again."); }
    if (!answer.ok && answer.status !== 202) {
      const refused = new Error(data.error || text || `HTTP ${answer.status}`);
      refused.status = answer.status; refused.data = data;  // the refusal's reason and details
      throw refused;
    }
    return data;
  }
  function note(text) {
    $("log").prepend(el("div", { textContent: `${clock()} ${text}` }));
  }
  function announce(text) { $("announcer").textContent = text; note(text); }

  // ---------------------------------------------------------------- sign-in
  function showSignIn(message) {
    if (desk.stream) { desk.stream.close(); desk.stream = null; }
    document.body.dataset.view = "signin";
    $("desk").hidden = true; $("signin").hidden = false; $("banner").hidden = true;
    $("signin-error").textContent = message || "";
    $("token").focus();
  }
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("signin-error").textContent = "";
    $("signin-button").disabled = true;
    try {
      const answer = await fetch("/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value.trim() }) });
      if (!answer.ok) throw new Error(answer.status === 401 ? "Unknown agent token." : `Sign-in failed (${answer.status}).`);
      $("token").value = "";
      if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
      await start(true);
    } catch (e) {
      $("signin-error").textContent = e.message;
    } finally {
      $("signin-button").disabled = false;
    }
  });
  $("signout").onclick = async () => {
    try { await api("POST", "/api/state", { state: "logged_out" }); } catch (e) { note("log out: " + e.message); }
    await fetch("/session", { method: "DELETE" });
    location.reload();
  };

  let starts = 0;
  async function start(fresh) {
    // the form stays hidden until the first check is answered; a check answered after a newer
    // one began (a sign-in while the page was loading) is stale and decides nothing
    const run = ++starts;
    let me;
    try { me = await api("GET", "/api/me"); } catch (e) { if (run === starts) showSignIn(fresh ? e.message : ""); return; }
    if (run !== starts) return;
    if (me.role && me.role !== "agent") { location.href = "/supervisor"; return; }  // one sign-in for all
    desk.agent = me;
    try { desk.config = await api("GET", "/api/config"); } catch (e) { note("settings: " + e.message); }
    $("who").textContent = me.name || me.agent_id;
    document.body.dataset.view = "desk";
    $("signin").hidden = true; $("desk").hidden = false;
    emit("signed-in", { agent: me });
    listen();
    if (fresh) await logIn();
    else setTimeout(() => { if (!desk.state) logIn(); }, 3000);
    refreshQueue();
  }
  async function logIn() {
    if (desk.loggedIn) return;
    desk.loggedIn = true;
    try { await api("POST", "/api/login"); } catch (e) { desk.loggedIn = false; note("log in failed: " + e.message); }
  }

  // ---------------------------------------------------------------- agent state
  const CHANNEL_LABEL = { chat: "chats", email: "e-mails", sms: "SMS", voice: "calls" };
  function renderCapacity(capacity) {
    // the load routing counts per channel against the agent's capacity ("chats 3/3")
    if (!capacity) return;
    desk.capacity = capacity;
    const box = $("capacity");
    box.replaceChildren();
    let full = false;
    Object.entries(capacity).forEach(([channel, c]) => {
      if (!c.load && channel !== "chat") return;
      const item = el("span", { className: "load" + (c.load >= c.capacity ? " full" : ""), textContent: `${CHANNEL_LABEL[channel] || channel} ${c.load}/${c.capacity}` });
      item.dataset.channel = channel;
      full = full || c.load >= c.capacity;
      box.append(item);
    });
    document.body.dataset.atCapacity = full ? "1" : "";
  }
  async function refreshStatus() {
    if (document.body.dataset.view !== "desk") return;
    try { const s = await api("GET", "/api/status"); renderCapacity(s.capacity); }
    catch (e) { /* the banner tells */ }
  }
  function setState(state, reason, since) {
    desk.state = state; desk.stateReason = reason || "";
    desk.stateSince = since ? new Date(since).getTime() : Date.now();
    $("state-timer").dataset.since = new Date(desk.stateSince).toISOString();
    document.body.dataset.state = state;
    const label = (STATE_LABEL[state] || state) + (state === "not_ready" && reason ? ` — ${reason.replace(/_/g, " ")}` : "");
    $("state-label").textContent = label;
    renderButtons();
    focusAfterState();
    if (state === "logged_out") logIn();
  }
  function renderButtons() {
    const up = document.body.dataset.stream === "open";
    $("ready").disabled = !up || desk.state === "ready";
    $("notready").disabled = !up || desk.state === "not_ready" || !desk.state;
    // while the desk is unreachable nothing that would fail is offered; drafts stay as typed
    for (const [, c] of desk.conversations) renderControls(c);
  }
  function renderControls(entry) {
    const up = document.body.dataset.stream === "open";
    if (entry.send) { entry.send.disabled = !up || entry.sending; entry.canned.disabled = !up; entry.offline.hidden = up; }
    if (entry.wrapStart) entry.wrapStart.disabled = !up;
    if (entry.done) entry.done.disabled = !up || entry.completing;
    entry.thread.querySelectorAll("button.retry").forEach((b) => { b.disabled = !up || b.dataset.busy === "1"; });
  }
  $("ready").onclick = () => changeState({ state: "ready" });
  $("notready").onclick = () => changeState({ state: "not_ready", reason: $("reason").value });
  async function changeState(body) {
    const focused = document.activeElement === $("ready") || document.activeElement === $("notready");
    $("ready").disabled = $("notready").disabled = true;
    try { await api("POST", "/api/state", body); }
    catch (e) { announce("State change failed: " + e.message); renderButtons(); }
    // the pressed button is disabled now: focus goes to the one that changes the state back
    if (focused) desk.focusAfterState = body.state === "ready" ? "notready" : "ready";
  }
  function focusAfterState() {
    const target = desk.focusAfterState && $(desk.focusAfterState);
    if (target && !target.disabled) { desk.focusAfterState = null; target.focus(); }
  }
  setInterval(() => {
    $("state-timer").textContent = duration(Date.now() - desk.stateSince);
    for (const [, c] of desk.conversations) {
      c.handle.textContent = duration(Date.now() - c.startedAt);
      if (c.wrapupAt) c.wrapTimer.textContent = duration(Date.now() - c.wrapupAt);
      if (c.typingNote && !c.typingNote.hidden && Date.now() > c.typingUntil) showTyping(c, false);
      if (c.waitingTimer) c.waitingTimer.textContent = duration(Date.now() - c.waitingSince);
    }
    for (const [id, pop] of desk.offers) renderCountdown(id, pop);
  }, 250);

  // ---------------------------------------------------------------- screen pop
  function popView(pop) {
    const c = pop.customer || {};
    const box = el("div", { className: "pop" });
    const vip = c.tier === "vip";
    box.append(el("h3", {}, (c.name || pop.address || "Unknown customer") + " ",
      el("span", { className: "tag" + (vip ? " vip" : ""), textContent: c.tier || pop.customer_class || "standard" }), " ",
      el("span", { className: "tag", textContent: pop.channel })));
    if (pop.subject) box.append(el("div", { className: "muted", textContent: pop.subject }));
    (pop.notices || []).forEach((n) => box.append(el("div", { className: "notice",
      textContent: `Open notice: ${n.text || n.kind}${n.compensation ? " — offer " + n.compensation : ""}` })));
    if (pop.transfer) box.append(transferView(pop));
    if (pop.suggested_next_step) box.append(el("div", { className: "next", textContent: "Next step: " + pop.suggested_next_step }));
    const facts = el("dl");
    const fact = (name, value) => { if (value !== undefined && value !== null && value !== "") facts.append(el("dt", { textContent: name }), el("dd", { textContent: value })); };
    fact("Language", c.language);
    fact("Phone", c.phone);
    fact(c.known || pop.channel !== "chat" ? "E-mail" : "E-mail (given, not verified)", c.email);
    fact("Address", pop.address);
    if ("sms_consent" in c) fact("SMS consent", c.sms_consent ? "yes" : "no");
    if ("email_consent" in c) fact("E-mail consent", c.email_consent ? "yes" : "no");
    box.append(facts);
    const recent = pop.recent_interactions || [];
    if (recent.length) {
      box.append(el("div", { className: "muted", textContent: "Recent contacts" }));
      const list = el("ul", { className: "recent" });
      recent.forEach((r) => list.append(el("li", { textContent:
        `${dateTime(r.arrived_at || r.started_at || r.at)} · ${r.channel} · ${r.status}${r.agent_id ? " · " + r.agent_id : ""}${r.disposition ? " (" + r.disposition + ")" : ""}` })));
      box.append(list);
    }
    return box;
  }

  // a transferred contact: who handed it on, with the note, and the thread so far
  function transferView(pop) {
    const t = pop.transfer;
    const from = t.from_name || t.from_agent_id;
    return el("div", { className: "handed-on" },
      el("strong", { textContent: `Transferred by ${from}` }), t.note ? `: ${t.note}` : "");
  }
  function threadView(pop) {
    const list = el("ol", { className: "offer-thread" });
    list.setAttribute("aria-label", "The conversation so far");
    const who = (pop.customer || {}).name || "Customer";
    (pop.transcript || []).forEach((m) => list.append(el("li", { className: m.direction === "out" ? "out" : "in" },
      el("span", { className: "meta", textContent: `${m.direction === "out" ? (m.author || "Agent") : who}: ` }),
      el("span", { className: "body", textContent: m.body }))));
    return list;
  }

  // ---------------------------------------------------------------- offers
  function secondsLeft(pop) {
    return Math.max(0, (new Date(pop.expires_at).getTime() - Date.now()) / 1000);
  }
  function renderCountdown(offerId, pop) {
    const card = offerCard(offerId);
    if (!card) return;
    const left = Math.ceil(secondsLeft(pop));
    card.querySelector(".countdown").textContent = left > 0 ? `${left} s` : "expiring…";
    card.classList.toggle("expiring", left <= 5);
  }
  const offerCard = (offerId) => document.querySelector(`.offer[data-offer-id="${CSS.escape(offerId)}"]`);
  function emptyStates() {
    $("offers-empty").hidden = desk.offers.size > 0;
    $("list-empty").hidden = desk.conversations.size > 0;
    $("work-empty").hidden = desk.conversations.size > 0;
  }
  function chime() {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.08;
      tone.connect(gain).connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.25);
    } catch { /* no audio */ }
  }
  function showOffer(pop) {
    if (desk.conversations.has(pop.contact_id) || offerCard(pop.offer_id)) return;
    desk.offers.set(pop.offer_id, pop);
    desk.pops.set(pop.contact_id, pop);
    const c = pop.customer || {};
    const who = c.name || pop.address || "a customer";
    const card = el("div", { className: "offer" });
    card.dataset.offerId = pop.offer_id;
    card.append(el("div", {}, el("strong", { textContent: `${pop.channel} from ${who} ` }),
      el("span", { className: "tag" + (c.tier === "vip" ? " vip" : ""), textContent: c.tier || "standard" })));
    if (pop.subject) card.append(el("div", { className: "muted", textContent: pop.subject }));
    (pop.notices || []).forEach((n) => card.append(el("div", { className: "notice",
      textContent: `Open notice: ${n.text || n.kind}${n.compensation ? " — offer " + n.compensation : ""}` })));
    if (pop.transfer) card.append(transferView(pop), threadView(pop));
    card.append(el("div", {}, "Expires in ", el("span", { className: "countdown", role: "timer" }),
      el("span", { className: "muted hotkey", textContent: " · Alt+A accepts" })));
    const accept = el("button", { className: "accept primary", textContent: "Accept", type: "button", title: "Accept (Alt+A)" });
    accept.setAttribute("aria-keyshortcuts", "Alt+A");
    const reject = el("button", { className: "reject", textContent: "Reject", type: "button" });
    accept.setAttribute("aria-label", `Accept ${pop.channel} from ${who}`);
    reject.setAttribute("aria-label", `Reject ${pop.channel} from ${who}`);
    accept.onclick = async () => {
      accept.disabled = reject.disabled = true;
      try {
        const r = await api("POST", `/api/offers/${encodeURIComponent(pop.offer_id)}/accept`);
        if (r.status === "assigned") { dropOffer(pop.offer_id); showContact(pop); focusConversation(pop.contact_id); refreshStatus(); }
        else note(`accept: ${r.status}`);
      } catch (e) { announce("Accept failed: " + e.message); accept.disabled = reject.disabled = false; }
    };
    reject.onclick = async () => {
      accept.disabled = reject.disabled = true;
      try { await api("POST", `/api/offers/${encodeURIComponent(pop.offer_id)}/reject`, { reason: "busy" }); dropOffer(pop.offer_id); }
      catch (e) { announce("Reject failed: " + e.message); accept.disabled = reject.disabled = false; }
    };
    card.append(el("div", { className: "actions" }, accept, reject));
    $("offers").append(card);
    renderCountdown(pop.offer_id, pop);
    emptyStates();
    announce(`New ${pop.channel} offer from ${who}`);
    chime();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      try { new Notification("New contact", { body: `${pop.channel} from ${who}`, tag: pop.offer_id }); } catch { /* ignore */ }
    }
  }
  function dropOffer(offerId, why) {
    const card = offerCard(offerId);
    const pop = desk.offers.get(offerId);
    if (card) card.remove();
    desk.offers.delete(offerId);
    emptyStates();
    if (why && pop) announce(`Offer ${why}: ${pop.channel} from ${(pop.customer || {}).name || pop.address || "customer"}`);
  }

  // ---------------------------------------------------------------- conversations
  const contactCard = (contactId) => document.querySelector(`.contact[data-contact-id="${CSS.escape(contactId)}"]`);
  function showContact(pop) {
    desk.pops.set(pop.contact_id, pop);
    if (desk.conversations.has(pop.contact_id)) { loadThread(pop.contact_id); return; }
    const c = pop.customer || {};
    const who = c.name || pop.address || "Customer";
    const card = el("article", { className: "contact" });
    card.dataset.contactId = pop.contact_id;
    card.dataset.channel = pop.channel;
    if (pop.assigned_at) card.dataset.assignedAt = new Date(pop.assigned_at).toISOString();
    const handle = el("span", { className: "timer", textContent: "0:00" });
    const head = el("div", { className: "contact-head" },
      el("h2", { textContent: `${who} · ${pop.channel}` }), el("span", { className: "grow" }),
      el("span", { className: "muted" }, "Handle time ", handle));
    const thread = el("div", { className: "thread", role: "log" });
    thread.setAttribute("aria-label", `Conversation with ${who}`);
    thread.setAttribute("aria-live", "polite");
    const typingNote = el("p", { className: "typing-note", hidden: true, textContent: `${who} is typing…` });
    typingNote.setAttribute("role", "status");
    const left = el("div", {}, thread, typingNote);
    const startedAt = pop.assigned_at ? new Date(pop.assigned_at).getTime() : Date.now();  // routing's
    const entry = { card, thread, seen: new Set(), startedAt, wrapupAt: null, unread: 0, handle, who, channel: pop.channel, typingNote, typingUntil: 0 };
    if (pop.channel !== "voice") left.append(composer(pop, entry));
    left.append(wrapup(pop, entry), handOn(pop, entry));
    card.append(head, left, popView(pop));
    $("contacts").append(card);
    desk.conversations.set(pop.contact_id, entry);
    (pop.transcript || []).forEach((m) => addMessage(pop.contact_id, { ...m, channel: pop.channel }, true));
    (desk.early.get(pop.contact_id) || []).forEach((m) => addMessage(pop.contact_id, m));
    desk.early.delete(pop.contact_id);
    renderList();
    if (!desk.selected || !desk.conversations.has(desk.selected)) select(pop.contact_id);
    else card.hidden = true;
    if (pop.wrapup_since) beginWrapup(pop.contact_id, pop.ended_by_customer ? `${who} ended the ${pop.channel}.` : "", pop.wrapup_since);
    renderControls(entry);
    emptyStates();
    loadThread(pop.contact_id);
  }
  // focus goes where the agent works next: the reply box, else the wrap-up, else the offers
  function focusConversation(contactId) {
    const entry = contactId && desk.conversations.get(contactId);
    if (!entry) { focusNext(); return; }
    if (desk.selected !== contactId) select(contactId);
    const target = entry.wrapupAt ? entry.disposition : (entry.text || entry.wrapStart);
    if (target) target.focus();
  }
  function focusNext() {
    const offer = document.querySelector(".offer .accept:not(:disabled)");
    if (offer) { offer.focus(); return; }
    if (desk.selected) { focusConversation(desk.selected); return; }
    $("offers-title").focus();
  }
  async function loadThread(contactId) {
    try {
      const data = await api("GET", `/api/contacts/${encodeURIComponent(contactId)}`);
      (data.messages || []).forEach((m) => addMessage(contactId, { ...m, channel: data.channel }, true));
    } catch (e) { note(`thread of ${contactId}: ${e.message}`); }
  }
  function addMessage(contactId, m, quiet) {
    const entry = desk.conversations.get(contactId);
    if (!entry) {
      const list = desk.early.get(contactId) || [];
      list.push(m); desk.early.set(contactId, list); return;
    }
    if (entry.seen.has(m.message_id)) return;
    entry.seen.add(m.message_id);
    const mine = m.direction === "out";
    const author = mine ? (m.author === (desk.agent || {}).agent_id ? "You" : (m.author || "Agent")) : entry.who;
    const node = el("div", { className: "msg " + (mine ? "out" : "in") },
      el("span", { className: "meta", textContent: `${author} · ${clock(m.at)} · ${m.channel || entry.channel}` }),
      el("span", { className: "body", textContent: m.body }));
    node.dataset.messageId = m.message_id;
    node.dataset.at = m.at || new Date().toISOString();
    // keep the thread in time order (a reloaded thread may bring older messages)
    const later = [...entry.thread.children].find((x) => x.dataset.at > node.dataset.at);
    entry.thread.insertBefore(node, later || null);
    entry.thread.scrollTop = entry.thread.scrollHeight;
    if (!entry.last || node.dataset.at >= entry.last.at) {
      // the list's preview, and since when the customer waits for a reply (their last word)
      entry.last = { at: node.dataset.at, body: m.body, mine };
      entry.waitingSince = mine ? null : new Date(node.dataset.at).getTime();
      renderList();
    }
    if (!mine) showTyping(entry, false);
    if (!quiet && !mine) {
      if (desk.selected !== contactId) { entry.unread += 1; renderList(); }
      announce(`New message from ${entry.who}`);
    }
  }
  // A reply shows as "Sending…" until the desk answers; a refusal or an unreachable desk turns
  // it into a failed bubble with the reason and Retry (never shown as sent when it was not).
  async function sendReply(pop, entry, body, bubble) {
    const node = bubble || el("div", { className: "msg out pending" });
    node.dataset.state = "sending";
    // one id per reply, the same on every retry: the desk sends a reply it already sent once
    node.dataset.clientId = node.dataset.clientId || (window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
    node.replaceChildren(el("span", { className: "meta", textContent: `You · Sending…` }), el("span", { className: "body", textContent: body }));
    if (!bubble) entry.thread.append(node);
    entry.thread.scrollTop = entry.thread.scrollHeight;
    try {
      const r = await api("POST", `/api/contacts/${encodeURIComponent(pop.contact_id)}/reply`, { text: body, id: node.dataset.clientId });
      node.remove();
      addMessage(pop.contact_id, { message_id: r.message_id, direction: "out", author: desk.agent.agent_id, body, at: new Date().toISOString(), channel: pop.channel }, true);
      return true;
    } catch (e) {
      node.className = "msg out failed";
      node.dataset.state = "failed";
      const retry = el("button", { className: "retry", type: "button", textContent: "Retry" });
      retry.setAttribute("aria-label", `Retry sending: ${body.slice(0, 60)}`);
      retry.onclick = async () => {
        retry.dataset.busy = "1"; retry.disabled = true;
        const sent = await sendReply(pop, entry, body, node);
        if (sent) entry.text?.focus();
      };
      node.replaceChildren(
        el("span", { className: "meta", textContent: `You · not sent` }),
        el("span", { className: "body", textContent: body }),
        el("span", { className: "failure", role: "alert", textContent: `Not sent: ${e.message}. ` }, retry));
      renderControls(entry);
      announce("Reply not sent: " + e.message);
      return false;
    }
  }
  function composer(pop, entry) {
    const id = `reply-${pop.contact_id}`;
    const text = el("textarea", { className: "reply-text", id, placeholder: "Type a reply…" });
    const send = el("button", { className: "reply primary", textContent: "Send", type: "button" });
    const canned = el("select", { className: "canned", id: `canned-${pop.contact_id}` });
    canned.append(el("option", { value: "", textContent: "Canned replies…" }));
    (desk.config.canned_replies || []).forEach((r) => canned.append(el("option", { value: r, textContent: r })));
    canned.onchange = () => { if (canned.value) { text.value = (text.value ? text.value + " " : "") + canned.value; canned.value = ""; text.focus(); } };
    send.onclick = async () => {
      const body = text.value;
      if (!body.trim() || send.disabled) return;
      // the text moves into its bubble (Sending…, then sent or failed with Retry): the box is
      // free for the next reply at once, and a failed one is never appended to it
      text.value = "";
      entry.sending = true; renderControls(entry);
      await sendReply(pop, entry, body, null);
      entry.sending = false; renderControls(entry);
      if (document.activeElement === document.body) text.focus();
    };
    text.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send.click(); } });
    // the customer sees "typing" (chat only): one signal every 2 s at most while the agent types
    let typedAt = 0;
    text.addEventListener("input", () => {
      if (pop.channel !== "chat" || !text.value.trim() || Date.now() - typedAt < 2000 || document.body.dataset.stream !== "open") return;
      typedAt = Date.now();
      api("POST", `/api/contacts/${encodeURIComponent(pop.contact_id)}/typing`).catch(() => {});
    });
    entry.offline = el("p", { className: "composer-offline", id: `offline-${pop.contact_id}`, hidden: true,
      textContent: "Not connected to the desk: your draft is kept; send it when the connection is back." });
    entry.offline.setAttribute("role", "status");
    text.setAttribute("aria-describedby", entry.offline.id);
    const box = el("div", { className: "composer" },
      el("label", { htmlFor: id, textContent: "Reply" }),
      text,
      entry.offline,
      el("div", { className: "row" }, el("label", { htmlFor: canned.id, className: "sr-only", textContent: "Canned replies" }), canned, send));
    entry.composer = box;
    entry.send = send; entry.canned = canned; entry.text = text;
    return box;
  }
  function wrapup(pop, entry) {
    const id = `disposition-${pop.contact_id}`;
    const start = el("button", { className: "wrapup-start", textContent: "End & wrap up", type: "button" });
    const select = el("select", { className: "disposition", id });
    (desk.config.disposition_codes || ["resolved"]).forEach((code) => select.append(el("option", { value: code, textContent: code.replace(/_/g, " ") })));
    const done = el("button", { className: "complete primary", textContent: "Complete", type: "button" });
    entry.wrapTimer = el("span", { className: "timer wrapup-timer", textContent: "0:00" });
    entry.endedNote = el("div", { className: "ended-note", hidden: true });
    const refusal = el("div", { className: "complete-refusal", id: `refusal-${pop.contact_id}`, role: "alert", hidden: true });
    done.setAttribute("aria-describedby", refusal.id);
    const panel = el("div", { className: "wrapup", hidden: true },
      el("div", {}, "Wrap-up ", entry.wrapTimer),
      el("label", { htmlFor: id, textContent: "Disposition code" }), select, done, refusal);
    entry.wrapPanel = panel;
    entry.done = done; entry.disposition = select;
    start.onclick = async () => {
      start.disabled = true;
      try {
        const r = await api("POST", `/api/contacts/${encodeURIComponent(pop.contact_id)}/wrapup`);
        beginWrapup(pop.contact_id, "", r.wrapup_since);
        select.focus();
      } catch (e) { announce("Wrap-up not started: " + e.message); }
      finally { renderControls(entry); }
    };
    done.onclick = async () => {
      entry.completing = true; renderControls(entry);
      refusal.hidden = true;
      try {
        await api("POST", `/api/contacts/${encodeURIComponent(pop.contact_id)}/complete`, { disposition: select.value });
        removeContact(pop.contact_id);
        announce(`Completed ${entry.who} (${select.value})`);
        focusNext();
        refreshStatus();
      } catch (e) {
        // the reason beside the control, with the guide's steps still missing
        const steps = (e.data && e.data.steps) || [];
        refusal.replaceChildren(el("strong", { textContent: "Not completed: " }),
          el("span", { className: "reason", textContent: steps.length ? "required steps are missing." : e.message }));
        if (steps.length) {
          const list = el("ul", { className: "missing-steps" });
          steps.forEach((s) => { const li = el("li", { textContent: String(s).replace(/_/g, " ") }); li.dataset.step = s; list.append(li); });
          refusal.append(list);
        }
        refusal.hidden = false;
        note("Complete failed: " + e.message);
        entry.completing = false; renderControls(entry);
      }
    };
    entry.wrapStart = start;
    return el("div", {}, entry.endedNote, start, panel);
  }
  // ---------------------------------------------------------------- transfer and consult
  const newId = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
  async function fillTargets(select, withQueues) {
    const data = await api("GET", "/api/transfer-targets");
    select.replaceChildren(el("option", { value: "", textContent: "Choose…" }));
    (data.agents || []).forEach((a) => select.append(el("option", { value: `agent:${a.agent_id}`,
      textContent: `${a.name || a.agent_id} (agent, ${String(a.state).replace(/_/g, " ")})` })));
    if (withQueues) (data.queues || []).forEach((q) => select.append(el("option", { value: `queue:${q}`, textContent: `Queue: ${q.replace(/_/g, " ")}` })));
  }
  // Transfer: to a queue or a named agent, with a note; Consult: a note to a colleague only.
  function handOn(pop, entry) {
    const box = el("div", { className: "hand-on" });
    const make = (kind, label, sendLabel) => {
      const toId = `${kind}-to-${pop.contact_id}`, noteId = `${kind}-note-${pop.contact_id}`;
      const open = el("button", { className: `${kind}-start`, type: "button", textContent: label });
      const to = el("select", { className: `${kind}-to`, id: toId });
      const text = el("textarea", { className: `${kind}-note`, id: noteId, maxLength: kind === "transfer" ? 200 : 2000,
        placeholder: kind === "transfer" ? "Note for the next agent" : "Your question" });
      const send = el("button", { className: `${kind}-send primary`, type: "button", textContent: sendLabel });
      const cancel = el("button", { className: `${kind}-cancel`, type: "button", textContent: "Cancel" });
      const status = el("p", { className: `${kind}-status`, role: "status" });
      const form = el("div", { className: `hand-on-form ${kind}`, hidden: true },
        el("label", { htmlFor: toId, textContent: kind === "transfer" ? "Transfer to" : "Ask" }), to,
        el("label", { htmlFor: noteId, textContent: kind === "transfer" ? "Note" : "Question" }), text,
        el("div", { className: "row" }, send, cancel), status);
      open.onclick = async () => {
        form.hidden = false; form.dataset.clientId = newId(); status.textContent = "";
        try { await fillTargets(to, kind === "transfer"); } catch (e) { status.textContent = `Targets not loaded: ${e.message}`; }
        to.focus();
      };
      cancel.onclick = () => { form.hidden = true; open.focus(); };
      send.onclick = async () => {
        const [what, target] = to.value.split(/:(.*)/s);
        if (!target) { status.textContent = "Choose where to."; to.focus(); return; }
        send.disabled = true;
        try {
          if (kind === "transfer") {
            const body = { note: text.value, id: form.dataset.clientId };
            body[what === "agent" ? "to_agent_id" : "to_skill"] = target;
            await api("POST", `/api/contacts/${encodeURIComponent(pop.contact_id)}/transfer`, body);
            announce(`Transferred ${entry.who} to ${to.selectedOptions[0].textContent}`);
            removeContact(pop.contact_id);
            focusNext();
            refreshStatus();
          } else {
            await api("POST", "/api/consults", { to_agent_id: target, note: text.value, contact_id: pop.contact_id });
            status.textContent = `Asked ${to.selectedOptions[0].textContent}; the answer shows under Consults.`;
            text.value = "";
          }
        } catch (e) { status.textContent = `Not sent: ${e.message}`; }
        finally { send.disabled = false; }
      };
      box.append(open);
      return form;
    };
    const forms = [make("transfer", "Transfer", "Transfer now"), make("consult", "Consult", "Ask")];
    box.append(...forms);
    entry.handOn = box;
    return box;
  }
  function showConsult(c) {
    $("consults-empty").hidden = true;
    const item = el("li", { className: "consult-item" + (c.reply_to ? " answer" : "") });
    item.dataset.consultId = c.consult_id;
    const from = c.from_name || c.from_agent_id;
    item.append(el("div", { className: "meta", textContent: `${c.reply_to ? "Answer from" : "Question from"} ${from} · ${clock(c.at)}` }),
      el("div", { className: "body", textContent: c.note }));
    if (!c.reply_to) {
      const id = `consult-answer-${c.consult_id}`;
      const text = el("textarea", { className: "consult-answer", id });
      const send = el("button", { className: "consult-answer-send", type: "button", textContent: "Answer" });
      send.onclick = async () => {
        if (!text.value.trim()) return;
        send.disabled = true;
        try {
          await api("POST", "/api/consults", { to_agent_id: c.from_agent_id, note: text.value, reply_to: c.consult_id });
          item.append(el("div", { className: "muted", textContent: `You answered: ${text.value}` }));
          text.remove(); send.remove();
        } catch (e) { send.disabled = false; announce("Answer not sent: " + e.message); }
      };
      item.append(el("label", { htmlFor: id, className: "sr-only", textContent: `Answer ${from}` }), text, send);
    }
    $("consults").prepend(item);
    announce(`${c.reply_to ? "Answer" : "Question"} from ${from}: ${c.note}`);
  }
  function beginWrapup(contactId, why, since) {
    const entry = desk.conversations.get(contactId);
    if (!entry) return;
    if (why) { entry.endedNote.textContent = why; entry.endedNote.hidden = false; }
    if (entry.wrapupAt) return;
    const hadFocus = entry.composer && entry.composer.contains(document.activeElement);
    entry.wrapupAt = since ? new Date(since).getTime() : Date.now();
    entry.card.dataset.wrapup = "1";
    entry.card.dataset.wrapupSince = new Date(entry.wrapupAt).toISOString();
    entry.wrapPanel.hidden = false;
    entry.wrapStart.hidden = true;
    if (entry.composer) entry.composer.hidden = true;
    if (entry.handOn) entry.handOn.hidden = true;  // a contact in wrap-up is not handed on
    if (hadFocus || document.activeElement === entry.wrapStart) entry.disposition.focus();  // not the body
    renderList();
  }
  function showTyping(entry, on) {
    if (!entry.typingNote || entry.typingNote.hidden === !on) { if (on) entry.typingUntil = Date.now() + 6000; return; }
    entry.typingNote.hidden = !on;
    entry.typingUntil = on ? Date.now() + 6000 : 0;
    renderList();
  }
  function removeContact(contactId) {
    const entry = desk.conversations.get(contactId);
    if (entry) entry.card.remove();
    desk.conversations.delete(contactId);
    if (desk.selected === contactId) { desk.selected = null; const next = desk.conversations.keys().next().value; if (next) select(next); }
    renderList(); emptyStates();
  }
  function select(contactId) {
    desk.selected = contactId;
    for (const [id, c] of desk.conversations) { c.card.hidden = id !== contactId; if (id === contactId) c.unread = 0; }
    renderList();
    emit("conversation-selected", { contactId, pop: desk.pops.get(contactId) });
  }
  function renderList() {
    const list = $("conversation-list");
    list.replaceChildren();
    for (const [id, c] of desk.conversations) {
      const b = el("button", { type: "button" }, el("span", { textContent: `${c.who} · ${c.channel}${c.wrapupAt ? " · wrap-up" : ""}` }));
      c.waitingTimer = null;
      const detail = el("span", { className: "preview" });
      if (c.typingNote && !c.typingNote.hidden) detail.append(el("em", { className: "typing", textContent: "typing…" }));
      else if (c.last) detail.append(`${c.last.mine ? "You: " : ""}${c.last.body.length > 60 ? c.last.body.slice(0, 59) + "…" : c.last.body}`);
      if (c.waitingSince && !c.wrapupAt) {
        c.waitingTimer = el("span", { className: "waiting timer", textContent: duration(Date.now() - c.waitingSince) });
        c.waitingTimer.setAttribute("aria-label", "waiting for your reply");
        c.waitingTimer.title = "Customer waiting for your reply";
        b.append(c.waitingTimer);
      }
      b.prepend(el("span", { className: "line" }, b.firstChild, detail));
      if (c.unread) b.append(el("span", { className: "unread", textContent: String(c.unread) }));
      b.setAttribute("aria-current", String(id === desk.selected));
      b.dataset.contactId = id;
      b.onclick = () => select(id);
      list.append(el("li", {}, b));
    }
  }

  // ---------------------------------------------------------------- queue
  async function refreshQueue() {
    if (document.body.dataset.view !== "desk") return;
    try {
      const data = await api("GET", "/api/queue");
      const body = $("queue").tBodies[0];
      body.replaceChildren();
      if (!data.classes.length) body.append(el("tr", {}, el("td", { colSpan: 3, className: "muted", textContent: "Nobody waiting" })));
      data.classes.forEach((line) => body.append(el("tr", {},
        el("td", { textContent: line.customer_class }), el("td", { textContent: String(line.waiting) }),
        el("td", { textContent: duration(line.longest_wait_seconds * 1000) }))));
      // contacts nobody logged in can take, whatever this agent's skills: never a silent wait
      const unservable = data.unservable || [];
      $("unservable").hidden = !unservable.length;
      $("unservable").replaceChildren(...unservable.map((line) => el("p", {
        textContent: `Nobody logged in can take ${line.waiting} ${line.channel} waiting ${duration(line.longest_wait_seconds * 1000)}: needs ${line.requirement}`,
      })));
      renderQueueChannels(data.channels || []);
    } catch (e) { /* the banner tells */ }
  }
  function renderQueueChannels(lines) {
    const body = $("queue-channels").tBodies[0];
    body.replaceChildren();
    if (!lines.length) body.append(el("tr", {}, el("td", { colSpan: 3, className: "muted", textContent: "No channel waiting" })));
    lines.forEach((line) => {
      const row = el("tr", {}, el("td", { textContent: line.channel }), el("td", { textContent: String(line.waiting) }),
        el("td", { textContent: duration(line.longest_wait_seconds * 1000) }));
      row.dataset.channel = line.channel;
      body.append(row);
    });
  }
  setInterval(refreshQueue, 5000);
  setInterval(refreshStatus, 5000);

  // ---------------------------------------------------------------- keys
  // Alt+A accepts the oldest offer (the card says so; aria-keyshortcuts on its button)
  document.addEventListener("keydown", (e) => {
    if (document.body.dataset.view !== "desk" || !e.altKey || e.ctrlKey || e.metaKey || e.code !== "KeyA") return;
    const accept = document.querySelector(".offer .accept:not(:disabled)");
    if (accept) { e.preventDefault(); accept.click(); }
  });

  // ---------------------------------------------------------------- the stream
  function streamDown() {
    if (document.body.dataset.view !== "desk") return;
    document.body.dataset.stream = "down";
    $("banner").hidden = false;
    renderButtons();
  }
  let reconnecting = null;
  function reconnectSoon() {
    if (reconnecting || document.body.dataset.view !== "desk") return;
    reconnecting = setTimeout(() => { reconnecting = null; if (document.body.dataset.stream !== "open") listen(); }, 1000);
  }
  function listen() {
    if (desk.stream) desk.stream.close();
    const source = new EventSource("/api/stream");
    desk.stream = source;
    const on = (type, handler) => source.addEventListener(type, (e) => {
      const data = JSON.parse(e.data);
      handler(data);
      emit("stream-event", { type, data });
    });
    source.onopen = () => {
      // the stream sends the current state, offers and assignments again: start from those
      for (const id of [...desk.offers.keys()]) dropOffer(id);
      document.body.dataset.stream = "open";
      $("banner").hidden = true;
      renderButtons();
      refreshQueue();
    };
    source.onerror = async () => {
      streamDown();
      if (source.readyState === EventSource.CLOSED) {  // refused (e.g. 401): check, then retry
        setTimeout(async () => {
          try { await api("GET", "/api/me"); listen(); } catch { if (document.body.dataset.view === "desk") setTimeout(listen, 2000); }
        }, 1000);
      }
    };
    on("agent_state", (d) => { setState(d.record.state, d.record.reason, d.record.since); renderCapacity(d.record.capacity); });
    on("agent_state_changed", (d) => { setState(d.record.state, d.record.reason, d.record.occurred_at); announce(`State: ${$("state-label").textContent}`); });
    on("offer", (d) => showOffer(d.offer));
    on("offer_expired", (d) => dropOffer(d.record.offer_id, "expired"));
    on("offer_rescinded", (d) => dropOffer(d.record.offer_id, "withdrawn"));
    on("offer_declined", (d) => dropOffer(d.record.offer_id));
    on("assignment", (d) => { dropOffer(d.assignment.offer_id); showContact(d.assignment); });
    on("contact_assigned", (d) => {
      const pop = desk.offers.get(d.record.offer_id);
      dropOffer(d.record.offer_id);
      if (pop) showContact(pop);
    });
    on("message", (d) => addMessage(d.message.contact_id, d.message));
    on("consult", (d) => showConsult(d.consult));
    on("typing", (d) => { const entry = desk.conversations.get(d.record.contact_id); if (entry && !entry.wrapupAt) showTyping(entry, true); });
    on("contact_ended", (d) => {
      const entry = desk.conversations.get(d.record.contact_id);
      if (entry) { beginWrapup(d.record.contact_id, `${entry.who} ended the ${entry.channel}.`); announce(`${entry.who} ended the conversation`); }
    });
    on("contact_released", (d) => { if (desk.conversations.has(d.record.contact_id)) removeContact(d.record.contact_id); refreshStatus(); });
    ["offer", "offer_expired", "offer_rescinded", "offer_declined", "contact_assigned"].forEach((type) => source.addEventListener(type, refreshStatus));
  }

  window.addEventListener("offline", streamDown);
  start(false);
})();
