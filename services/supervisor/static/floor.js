// The supervisor's floor: one pool's queues, agents and waiting contacts, live from the desk's
// server-sent events (event: floor), and the actions on them (each audited with a reason).
// Signed in through the desk's page (one sign-in for all); its HttpOnly cookie carries the
// session, and changes send X-Desk-Page as the desk page does.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const floor = { me: null, pool: null, pools: [], view: null, source: null };

  async function api(method, path, body) {
    const init = { method, headers: { "X-Desk-Page": "1" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const answer = await fetch(path, init);
    const text = await answer.text();
    let data = null;
    try { data = JSON.parse(text); } catch { data = { error: text }; }
    if (!answer.ok) {
      const why = data && data.error ? data.error + (data.details && data.details.length ? ": " + data.details.join("; ") : "") : answer.statusText;
      const error = new Error(why);
      error.status = answer.status;
      throw error;
    }
    return data;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  // ---------------------------------------------------------------- rendering
  function renderQueues(view) {
    const body = $("queues").querySelector("tbody");
    body.replaceChildren();
    for (const q of view.queues) {
      const row = body.insertRow();
      row.dataset.channel = q.channel;
      row.dataset.customerClass = q.customer_class;
      cell(row, q.channel);
      cell(row, q.customer_class);
      cell(row, String(q.waiting), "num waiting");
      cell(row, q.waiting ? duration(q.longest_wait_seconds) : "—", "num");
      cell(row, String(q.unservable), "num unservable" + (q.unservable ? " bad" : ""));
      cell(row, q.service_level_today === null ? "—" : `${Math.round(q.service_level_today * 100)} % (${q.threshold_seconds} s)`, "num");
      cell(row, String(q.answered_today), "num");
      cell(row, String(q.abandoned_today), "num");
    }
    $("queues-empty").hidden = view.queues.length > 0;
  }

  function renderAgents(view) {
    const body = $("agents").querySelector("tbody");
    body.replaceChildren();
    for (const a of view.agents) {
      const row = body.insertRow();
      row.dataset.agentId = a.agent_id;
      row.dataset.state = a.state;
      cell(row, a.name ? `${a.name} (${a.agent_id})` : a.agent_id);
      const state = cell(row, "");
      const pill = document.createElement("span");
      pill.className = "pill " + a.state;
      pill.textContent = a.state.replace("_", " ") + (a.reason && a.state !== "ready" ? ` · ${a.reason}` : "");
      state.appendChild(pill);
      cell(row, duration(a.seconds_in_state), "num");
      const capacity = cell(row, "", "capacity");
      for (const use of a.capacity) {
        const span = document.createElement("span");
        span.className = "use" + (use.used >= use.capacity ? " full" : "");
        span.dataset.channel = use.channel;
        span.textContent = `${use.channel} ${use.used}/${use.capacity}`;
        capacity.appendChild(span);
      }
      const work = cell(row, "");
      const list = document.createElement("ul");
      list.className = "contacts";
      for (const c of a.contacts) {
        const li = document.createElement("li");
        li.textContent = `${c.contact_id} · ${c.channel} · ${c.status} ${duration(c.seconds)}`;
        list.appendChild(li);
      }
      work.appendChild(list);
      cell(row, String(a.handled_today), "num");
      cell(row, a.aht_seconds === null ? "—" : duration(a.aht_seconds), "num");
      const actions = cell(row, "");
      if (a.state === "ready") actions.appendChild(button("Not ready", () => ask({ kind: "state", state: "not_ready", agent: a })));
      if (a.state !== "logged_out") actions.appendChild(button("Log out", () => ask({ kind: "state", state: "logged_out", agent: a })));
    }
    $("agents-empty").hidden = view.agents.length > 0;
  }

  function renderWaiting(view) {
    const body = $("waiting").querySelector("tbody");
    body.replaceChildren();
    for (const w of view.waiting) {
      const row = body.insertRow();
      row.dataset.contactId = w.contact_id;
      if (w.unservable) row.dataset.unservable = "1";
      cell(row, w.contact_id + (w.unservable ? " · unservable" : ""), w.unservable ? "bad" : "");
      cell(row, w.channel || "—");
      cell(row, w.customer_class || "—");
      cell(row, duration(w.waited_seconds), "num");
      cell(row, Object.entries(w.skills).map(([s, l]) => `${s} ≥ ${l}`).join(", ") || "—");
      const actions = cell(row, "");
      actions.appendChild(button("Offer to…", () => ask({ kind: "offer", contact: w })));
      actions.appendChild(button("Move to…", () => ask({ kind: "move", contact: w })));
      actions.appendChild(button("End", () => ask({ kind: "end", contact: w })));
    }
    $("waiting-empty").hidden = view.waiting.length > 0;
  }

  function render(view) {
    floor.view = view;
    renderQueues(view);
    renderAgents(view);
    renderWaiting(view);
    $("updated").textContent = "as of " + new Date(view.at).toLocaleTimeString();
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  }

  // ---------------------------------------------------------------- actions
  let pending = null;
  function ask(action) {
    pending = action;
    const target = $("target");
    target.replaceChildren();
    let what = "";
    if (action.kind === "state") what = `${action.state === "not_ready" ? "Put" : "Log"} ${action.agent.agent_id} ${action.state === "not_ready" ? "not ready" : "out"}`;
    if (action.kind === "end") what = `End ${action.contact.contact_id}`;
    if (action.kind === "offer") {
      what = `Offer ${action.contact.contact_id} to`;
      for (const a of floor.view.agents.filter((x) => x.state === "ready")) target.add(new Option(a.name || a.agent_id, a.agent_id));
    }
    if (action.kind === "move") {
      what = `Move ${action.contact.contact_id} to`;
      for (const p of floor.pools.filter((x) => x !== floor.pool)) target.add(new Option(p, p));
    }
    const choose = action.kind === "offer" || action.kind === "move";
    target.hidden = !choose;
    $("target-label").hidden = !choose;
    $("action-what").textContent = what;
    $("action-result").textContent = "";
    $("action").hidden = false;
    $("action-reason").focus();
  }

  $("action-cancel").addEventListener("click", () => { $("action").hidden = true; pending = null; });
  $("action").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    const reason = $("action-reason").value.trim();
    const base = `/api/supervisor/pools/${encodeURIComponent(floor.pool)}`;
    let path, body;
    if (pending.kind === "state") {
      path = `${base}/agents/${encodeURIComponent(pending.agent.agent_id)}/state`;
      body = { state: pending.state, reason };
    } else {
      path = `${base}/contacts/${encodeURIComponent(pending.contact.contact_id)}/${pending.kind}`;
      body = { reason };
      if (pending.kind === "offer") body.agent_id = $("target").value;
      if (pending.kind === "move") body.to_pool_id = $("target").value;
    }
    $("action-send").disabled = true;
    try {
      await api("POST", path, body);
      $("action-result").textContent = "Sent to routing.";
      $("action-reason").value = "";
      $("action").hidden = true;
      pending = null;
    } catch (e) {
      $("action-result").textContent = e.message;
    } finally {
      $("action-send").disabled = false;
    }
  });

  // ---------------------------------------------------------------- the stream
  function listen() {
    if (floor.source) floor.source.close();
    document.body.dataset.stream = "connecting";
    const source = new EventSource(`/api/supervisor/pools/${encodeURIComponent(floor.pool)}/stream`);
    floor.source = source;
    source.onopen = () => { document.body.dataset.stream = "open"; $("banner").hidden = true; };
    source.addEventListener("floor", (event) => render(JSON.parse(event.data)));
    source.onerror = () => {
      document.body.dataset.stream = "down";
      $("banner").hidden = false;
    };
  }

  $("pool").addEventListener("change", () => {
    floor.pool = $("pool").value;
    history.replaceState(null, "", `?pool=${encodeURIComponent(floor.pool)}`);
    listen();
  });
  $("signout").addEventListener("click", async () => {
    await fetch("/session", { method: "DELETE" });
    location.href = "/";
  });

  async function start() {
    try {
      floor.me = await api("GET", "/api/me");
    } catch (e) {
      location.href = "/";  // one sign-in page for all
      return;
    }
    $("who").textContent = floor.me.name || floor.me.agent_id;
    try {
      floor.pools = (await api("GET", "/api/supervisor/pools")).pools;
    } catch (e) {
      document.body.dataset.view = "denied";
      $("denied").textContent = e.status === 403 ? "The floor is for supervisors and admins." : e.message;
      $("denied").hidden = false;
      return;
    }
    const wanted = new URLSearchParams(location.search).get("pool");
    floor.pool = floor.pools.includes(wanted) ? wanted : floor.pools[0];
    for (const p of floor.pools) $("pool").add(new Option(p, p, false, p === floor.pool));
    document.body.dataset.view = "floor";
    if (floor.pool) listen();
  }
  start();
})();
