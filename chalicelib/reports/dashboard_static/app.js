/* Calltrack dashboard: reports with drill-down, the call list with recordings and tags,
 * pool health and settings. Plain browser JavaScript against the app's own API. People
 * sign in with email and password (Cognito, through /v1/auth); an API key works too. The
 * token lives in sessionStorage (this tab only) and travels as a Bearer token; what the
 * role may do (GET /me) decides which tabs and buttons show.
 * Everything from the API is written with textContent: sources, keywords and pages
 * come from visitors' URLs and must never become markup. */
(function () {
  "use strict";

  var API = location.pathname.replace(/\/dashboard\/?$/, "");
  var AUDIO = "audio/mpeg, audio/wav, audio/ogg, audio/mp4";
  var METRICS = [["calls", "Calls"], ["answered", "Answered"], ["missed", "Missed"], ["missed_pct", "Missed %"],
    ["unique", "Unique"], ["target", "Target"], ["first_target", "First target"], ["unique_target", "Unique target"],
    ["repeated", "Repeated"], ["avg_wait", "Avg wait s"], ["avg_talk", "Avg talk s"], ["value", "Value"],
    ["sessions", "Sessions"], ["conversion_pct", "Session → call %"]];
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var DRILL = { source: "f-source", medium: "f-medium", campaign: "f-campaign", country: "f-country", tag: "f-tag",
    status: "f-status" };
  var COLOURS = ["#1f6feb", "#2da44e", "#d4a72c", "#cf222e", "#8250df", "#1b7c83", "#bc4c00", "#6e7781"];
  // A source keeps its colour in every view and every range: the usual ones by name, the
  // rest by a hash of the name (never by rank, which changes with the filters).
  var SOURCE_COLOURS = { google: "#1f6feb", facebook: "#8250df", bing: "#1b7c83", "(direct)": "#57606a",
    direct: "#57606a", billboard: "#bc4c00", instagram: "#cf222e", newsletter: "#2da44e", yahoo: "#d4a72c",
    "(none)": "#8c959f", other: "#afb8c1" };
  // Other sources: a palette none of the named ones use, picked by a hash of the name.
  var HASHED_COLOURS = ["#e16f24", "#0a7ea4", "#bf3989", "#4d8a28", "#9a6700", "#6639ba", "#a40e26", "#116329"];
  var WORDS = { abandoned_in_greeting: "hung up in the greeting", ivr_no_input: "no menu choice",
    ivr_abandoned: "hung up in the menu", callback_agent_no_answer: "callback: agent did not answer",
    callback_client_no_answer: "callback: visitor did not answer", rejected: "refused (spam)",
    first_target: "first target", unique_target: "unique target", not_lead: "not a lead", inbound: "inbound",
    callback: "callback", outbound: "outbound", dynamic: "dynamic number", static: "static number",
    "default": "default number" };
  var WORDED = ["status", "direction", "method", "lead"];
  var KPIS = ["calls", "answered", "missed", "missed_pct", "unique", "target", "sessions", "conversion_pct", "value"];
  var charts = {};
  var stored = function (k) { return sessionStorage.getItem("calltrack." + k); };
  var state = { account: stored("account"), key: stored("key"), refresh: stored("refresh"), me: null,
    tab: "reports", categories: [], settings: null, sections: {}, loads: 0, blobUrl: null, challenge: null,
    email: null, nextCalls: null, callLimit: 200 };
  var TABS = { reports: "GET /reports", calls: "GET /calls", pools: "GET /pool-health", settings: "GET /settings" };

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return v.toLocaleString("en-US", { maximumFractionDigits: 1 });
    return String(v);
  }
  function busy(what) { document.body.dataset.state = what; }
  function words(key) { return WORDS[key] || String(key).replace(/_/g, " "); }
  function colourOf(name) {
    if (SOURCE_COLOURS[name]) return SOURCE_COLOURS[name];
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return HASHED_COLOURS[h % HASHED_COLOURS.length];
  }

  function ApiError(status, body) {
    this.status = status;
    this.message = (body && body.message) || ("HTTP " + status);
  }

  function parsed(r) {
    return r.text().then(function (text) {
      var body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { body = { message: text }; }
      if (!r.ok) throw new ApiError(r.status, body);
      return body;
    });
  }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Authorization: "Bearer " + state.key }, options.headers || {});
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + "/v1/accounts/" + encodeURIComponent(state.account) + path, {
      method: options.method || "GET", headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }).then(function (r) {
      // A person's token lasts an hour: refresh it once, then ask again.
      if (r.status === 401 && state.refresh && !options.retried) {
        return authPost("/v1/auth/refresh", { refresh_token: state.refresh }).then(function (answer) {
          keep("key", state.key = answer.access_token);
          return api(path, Object.assign({}, options, { retried: true }));
        }, function () { return parsed(r); });
      }
      if (options.raw && r.ok) return r;
      return parsed(r);
    });
  }

  function authPost(path, body, method) {
    var headers = { "Content-Type": "application/json" };
    if (method) headers.Authorization = "Bearer " + state.key;   // the person's own token (MFA)
    return fetch(API + path, { method: method || "POST", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) }).then(parsed);
  }

  // --- MFA: an authenticator app's codes at sign-in (the person's own setting) ----------
  function openMfa() {
    $("mfa-error").textContent = "";
    $("mfa-status").textContent = "";
    $("mfa-code").value = "";
    $("mfa-dialog").showModal();
    authPost("/v1/auth/mfa", undefined, "POST").then(function (setup) {
      $("mfa-secret").textContent = setup.secret;
      $("mfa-uri").textContent = setup.otpauth;
    }).catch(function (err) { $("mfa-error").textContent = err.message; });
  }

  function enableMfa() {
    $("mfa-error").textContent = "";
    authPost("/v1/auth/mfa", { code: $("mfa-code").value.trim() }, "PUT").then(function () {
      $("mfa-status").textContent = "On: the next sign-in asks for a code.";
    }).catch(function (err) { $("mfa-error").textContent = err.message; });
  }

  function disableMfa() {
    authPost("/v1/auth/mfa", undefined, "DELETE").then(function () {
      $("mfa-status").textContent = "Off: signing in needs the password only.";
    }).catch(function (err) { $("mfa-error").textContent = err.message; });
  }

  function keep(name, value) {
    if (value) sessionStorage.setItem("calltrack." + name, value); else sessionStorage.removeItem("calltrack." + name);
  }

  function can(what) {
    var rights = (state.me && state.me.can) || [];
    return rights.indexOf("*") >= 0 || rights.indexOf(what) >= 0;
  }

  // --- sign in ----------------------------------------------------------------------
  function showSignedIn(on) {
    $("signin").hidden = on;
    ["tabs", "signout", "who", "account-name"].forEach(function (id) { $(id).hidden = !on; });
    $("security").hidden = !on || !state.me || state.me.kind !== "user";
    if (!on) {   // signed out: the sign-in and nothing else
      $("filters-panel").hidden = true;
      document.querySelectorAll("section.tab").forEach(function (s) { s.hidden = true; });
      return;
    }
    var me = state.me;
    $("account-name").textContent = me.account_name;
    $("who").textContent = (me.name || me.account_id) + " · " + me.role.replace("_", "-") +
      (me.kind === "key" ? " (API key)" : "");
    var first = null;
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.hidden = !can(TABS[b.dataset.tab]);
      if (!b.hidden && !first) first = b.dataset.tab;
    });
    $("export-csv").hidden = !can("GET /reports");
    switchTab(can(TABS[state.tab]) ? state.tab : first);
  }

  // Who is signed in, and what their role may do; then the first view.
  function enter(accountId) {
    state.account = accountId;
    return api("/me").then(function (me) {
      state.me = me;
      keep("account", state.account);
      keep("key", state.key);
      keep("refresh", state.refresh);
      showSignedIn(true);
      loadCategories();
      var first = can("GET /reports") ? loadReport() : loadCallList(false);
      if (state.openOnStart) {
        var id = state.openOnStart;
        state.openOnStart = null;
        first.then(function () { openCall(id); });
      }
    });
  }

  function signIn(ev) {   // with an API key
    ev.preventDefault();
    state.key = $("apikey").value.trim();
    state.refresh = null;
    $("signin-error").textContent = "";
    enter($("account").value.trim()).then(function () { $("apikey").value = ""; }).catch(function (err) {
      $("signin-error").textContent = err.status === 401 || err.status === 403 || err.status === 404
        ? "That API key does not open this account." : "Sign-in failed: " + err.message;
    });
  }

  function signInUser(ev) {   // a person: email and password
    ev.preventDefault();
    state.email = $("email").value.trim();
    $("user-signin-error").textContent = "";
    authPost("/v1/auth/sign-in", { email: state.email, password: $("password").value })
      .then(signedIn).catch(function (err) { $("user-signin-error").textContent = err.message; });
  }

  var CHALLENGES = {
    NEW_PASSWORD_REQUIRED: "Choose your password (at least 10 characters, with a lowercase letter and a digit)",
    SOFTWARE_TOKEN_MFA: "The six-digit code from your authenticator app",
  };

  function signedIn(answer) {
    $("password").value = "";
    if (answer.challenge) {
      state.challenge = answer;
      $("user-signin-form").hidden = true;
      $("challenge-form").hidden = false;
      $("challenge-label").textContent = CHALLENGES[answer.challenge] || answer.challenge;
      $("challenge-answer").type = answer.challenge === "NEW_PASSWORD_REQUIRED" ? "password" : "text";
      $("challenge-answer").value = "";
      return;
    }
    $("challenge-form").hidden = true;
    var accounts = answer.accounts || [];
    if (!accounts.length) {
      $("user-signin-form").hidden = false;
      $("user-signin-error").textContent = "You are signed in, but no account has added you yet: ask its admin.";
      return;
    }
    state.key = answer.access_token;
    state.refresh = answer.refresh_token || state.refresh;
    if (accounts.length === 1) return enter(accounts[0].account_id);
    var picker = $("account-picker");
    picker.textContent = "";
    accounts.forEach(function (a) { picker.appendChild(el("option", a.account_id + " (" + a.role + ")")).value = a.account_id; });
    $("user-signin-form").hidden = true;
    $("account-form").hidden = false;
  }

  function answerChallenge(ev) {
    ev.preventDefault();
    $("challenge-error").textContent = "";
    authPost("/v1/auth/challenge", { challenge: state.challenge.challenge, session: state.challenge.session,
      email: state.email, answer: $("challenge-answer").value.trim() })
      .then(signedIn).catch(function (err) { $("challenge-error").textContent = err.message; });
  }

  function forgotPassword() {
    state.email = $("email").value.trim();
    if (!state.email) { $("user-signin-error").textContent = "Type your email first."; return; }
    authPost("/v1/auth/forgot-password", { email: state.email }).then(function () {
      $("user-signin-form").hidden = true;
      $("reset-form").hidden = false;
    }).catch(function (err) { $("user-signin-error").textContent = err.message; });
  }

  function resetPassword(ev) {
    ev.preventDefault();
    authPost("/v1/auth/reset-password", { email: state.email, code: $("reset-code").value.trim(),
      password: $("reset-password").value }).then(function () {
      $("reset-form").hidden = true;
      $("user-signin-form").hidden = false;
      $("user-signin-error").textContent = "Password changed: sign in with it.";
    }).catch(function (err) { $("reset-error").textContent = err.message; });
  }

  function signOut() {
    if (state.me && state.me.kind === "user" && state.key) {   // the refresh token stops working too
      authPost("/v1/auth/sign-out", undefined, "POST").catch(function () { /* signed out here anyway */ });
    }
    ["account", "key", "refresh"].forEach(function (k) { keep(k, null); });
    state.key = state.refresh = state.me = null;
    ["challenge-form", "reset-form", "account-form"].forEach(function (id) { $(id).hidden = true; });
    $("user-signin-form").hidden = false;
    showSignedIn(false);
    busy("signed-out");
  }

  // --- filters and the report -----------------------------------------------------------
  function isoDay(d) {
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  function defaultDates() { applyRange("30"); }

  // Date presets: the browser's calendar days (the report reads them in the account's zone).
  function applyRange(range) {
    var today = new Date();
    var from = today, to = today;
    if (/^[0-9]+$/.test(range)) from = new Date(today.getTime() - (parseInt(range, 10) - 1) * 86400000);
    if (range === "this_month") from = new Date(today.getFullYear(), today.getMonth(), 1);
    if (range === "last_month") {
      from = new Date(today.getFullYear(), today.getMonth() - 1, 1);
      to = new Date(today.getFullYear(), today.getMonth(), 0);
    }
    if (range === "") return;
    $("f-range").value = range;
    $("f-from").value = isoDay(from);
    $("f-to").value = isoDay(to);
  }

  function dayOf(text) { var p = text.split("-"); return new Date(+p[0], +p[1] - 1, +p[2]); }

  // The period just before the chosen one, as long as it.
  function previousPeriod(fromText, toText) {
    var from = dayOf(fromText), to = dayOf(toText);
    var days = Math.round((to - from) / 86400000) + 1;
    var prevTo = new Date(from.getFullYear(), from.getMonth(), from.getDate() - 1);
    var prevFrom = new Date(prevTo.getFullYear(), prevTo.getMonth(), prevTo.getDate() - (days - 1));
    return { from: isoDay(prevFrom), to: isoDay(prevTo), days: days };
  }

  // Filters live in the URL's fragment: a reload or a shared link opens the same view.
  function saveView() {
    var view = new URLSearchParams();
    new FormData($("filters")).forEach(function (value, name) {
      if (String(value).trim() !== "") view.set(name, String(value).trim());
    });
    if ($("f-range").value) view.set("range", $("f-range").value);
    if ($("f-compare").checked) view.set("compare", "1");
    view.set("tab", state.tab);
    if (state.callId) view.set("call", state.callId);
    history.replaceState(null, "", location.pathname + location.search + "#" + view.toString());
  }

  function restoreView() {
    var view = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (!Array.from(view.keys()).length) return;
    $("filters").reset();
    view.forEach(function (value, name) {
      var field = $("filters").elements.namedItem(name);
      if (field && field.name === name) field.value = value;
    });
    $("f-range").value = view.get("range") || "";
    if (view.get("range") && !view.get("from")) applyRange(view.get("range"));
    $("f-compare").checked = view.get("compare") === "1";
    if (view.get("tab") && TABS[view.get("tab")]) state.tab = view.get("tab");
    state.openOnStart = view.get("call");
  }

  function filterParams() {
    var params = new URLSearchParams();
    new FormData($("filters")).forEach(function (value, name) {
      if (String(value).trim() !== "" && name !== "group_by") params.set(name, String(value).trim());
    });
    return params;
  }

  function loadReport() {
    var params = filterParams();
    var group = $("f-group").value;
    params.set("group_by", "day");
    params.set("series", "source");
    params.set("breakdowns", group === "day" ? "status" : "status," + group);
    params.set("include", "calls");
    params.set("limit", String(state.callLimit));
    busy("loading");
    $("error").textContent = "";
    saveView();
    var started = Date.now();
    var compare = null;
    if ($("f-compare").checked && $("f-from").value && $("f-to").value) {
      var before = previousPeriod($("f-from").value, $("f-to").value);
      var prev = filterParams();
      prev.set("from", before.from);
      prev.set("to", before.to);
      compare = api("/reports?" + prev.toString()).then(function (r) { r.period = before; return r; });
    }
    return Promise.all([api("/reports?" + params.toString()), compare]).then(function (both) {
      var rep = both[0];
      state.report = rep;
      state.loads += 1;
      renderKpis(rep.totals, rep.currency);
      renderDeltas(rep.totals, both[1]);
      renderEmpty(rep);
      renderCharts(rep);
      renderTable(group, group === "day" ? rep.rows : rep.breakdowns[group], rep.totals);
      renderCalls(rep.calls, rep.calls_total);
      var last = new Date(Date.parse(rep.to) - 1000).toISOString().slice(0, 10);  // `to` is exclusive
      $("status-line").textContent = rep.totals.calls + " calls, " + rep.from.slice(0, 10) + " to " + last +
        " (" + rep.timezone + "), in " + ((Date.now() - started) / 1000).toFixed(1) + " s";
      document.body.dataset.loads = String(state.loads);
      busy("ready");
    }).catch(function (err) {
      $("error").textContent = err.message;
      busy("error");
      if (err.status === 401) signOut();
    });
  }

  function renderKpis(t, currency) {
    $("kpi-calls").textContent = fmt(t.calls);
    $("kpi-answered").textContent = fmt(t.answered);
    $("kpi-missed").textContent = fmt(t.missed);
    $("kpi-missed-pct").textContent = t.missed_pct === null ? "–" : fmt(t.missed_pct) + "%";
    $("kpi-unique").textContent = fmt(t.unique);
    $("kpi-target").textContent = fmt(t.target);
    $("kpi-sessions").textContent = fmt(t.sessions);
    $("kpi-conversion").textContent = t.conversion_pct === null ? "–" : fmt(t.conversion_pct) + "%";
    $("kpi-value").textContent = fmt(t.value) + " " + (currency || "");
  }

  // Each card's change against the previous period (when compared), in words and colour.
  function renderDeltas(now, previous) {
    KPIS.forEach(function (k) {
      var card = $("kpi-" + k.replace("_pct", "-pct").replace("conversion-pct", "conversion"));
      var delta = card.parentNode.querySelector(".delta");
      if (!delta) { delta = el("small", "", "delta"); card.parentNode.appendChild(delta); }
      delta.className = "delta";
      delta.textContent = "";
      delete delta.dataset.delta;
      if (!previous) return;
      var a = now[k], b = previous.totals[k];
      if (a === null || a === undefined || b === null || b === undefined) return;
      var pct = k.slice(-4) === "_pct";
      var change = pct ? a - b : (b ? (a - b) / b * 100 : null);
      var text = change === null ? (a ? "new" : "no change")
        : (change > 0 ? "+" : change < 0 ? "−" : "±") + fmt(Math.abs(change)) + (pct ? " pts" : "%");
      delta.textContent = text + " vs previous " + previous.period.days + (previous.period.days === 1 ? " day" : " days");
      delta.title = "against " + previous.period.from + " – " + previous.period.to;
      delta.dataset.delta = change === null ? text : String(Math.round(change * 10) / 10);
      var better = k === "missed" || k === "missed_pct" ? change < 0 : change > 0;
      if (change) delta.classList.add(better ? "up" : "down");
    });
  }

  // A new account (or a range with nothing in it) says so, and what to do next.
  function renderEmpty(rep) {
    var t = rep.totals;
    var empty = !t.calls && !t.sessions;
    $("empty").hidden = !empty;
    if (!empty) return;
    var filtered = Array.from(filterParams().keys()).some(function (k) { return k !== "from" && k !== "to"; });
    $("empty-title").textContent = filtered ? "Nothing matches these filters" : "No calls or visits yet";
    $("empty-text").textContent = filtered
      ? "Nothing in this range matches every filter: widen the range or press Reset."
      : "Nothing was recorded between " + rep.from.slice(0, 10) + " and " + rep.to.slice(0, 10) + ". " +
        "Add the snippet to your site and point your numbers' answer URL at Calltrack (docs/snippet.md, " +
        "docs/vonage.md): visits and calls show here as they happen.";
  }

  function chart(id, config) {
    if (typeof Chart === "undefined") return;  // the chart library failed to load: tables still work
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function renderCharts(rep) {
    var totals = {};
    rep.rows.forEach(function (r) { Object.keys(r.series || {}).forEach(function (s) { totals[s] = (totals[s] || 0) + r.series[s]; }); });
    var sources = Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a]; });
    var top = sources.slice(0, 7);
    var datasets = top.map(function (s) {
      return { label: s, backgroundColor: colourOf(s), data: rep.rows.map(function (r) { return (r.series || {})[s] || 0; }) };
    });
    if (sources.length > top.length) {
      datasets.push({ label: "other", backgroundColor: SOURCE_COLOURS.other, data: rep.rows.map(function (r) {
        return sources.slice(7).reduce(function (n, s) { return n + ((r.series || {})[s] || 0); }, 0);
      }) });
    }
    chart("chart-sources", { type: "bar", data: { labels: rep.rows.map(function (r) { return r.key; }), datasets: datasets },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
    var missed = (rep.breakdowns.status || []).filter(function (r) { return r.missed > 0; });
    chart("chart-missed", { type: "doughnut", data: { labels: missed.map(function (r) { return words(r.key); }),
      datasets: [{ data: missed.map(function (r) { return r.missed; }), backgroundColor: COLOURS }] } });
    var t = rep.totals;
    chart("chart-classes", { type: "bar", data: { labels: ["unique", "target", "first target", "unique target", "repeated"],
      datasets: [{ label: "calls", backgroundColor: COLOURS[0],
        data: [t.unique, t.target, t.first_target, t.unique_target, t.repeated] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
  }

  function renderTable(group, rows, totals) {
    var table = $("report-table");
    var head = table.tHead.rows[0];
    head.textContent = "";
    head.appendChild(el("th", group.replace("_", " ")));
    METRICS.forEach(function (m) { head.appendChild(el("th", m[1], "num")); });
    var body = table.tBodies[0];
    body.textContent = "";
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.key = r.key;
      tr.appendChild(el("td", WORDED.indexOf(group) >= 0 ? words(r.key) : r.key));
      METRICS.forEach(function (m) { tr.appendChild(el("td", fmt(r[m[0]]), "num")); });
      if (DRILL[group] && r.key !== "(none)") {
        tr.className = "clickable";
        tr.title = "Drill down: only " + r.key;
        tr.addEventListener("click", function () { $(DRILL[group]).value = r.key; loadReport(); });
      }
      body.appendChild(tr);
    });
    var foot = table.tFoot;
    foot.textContent = "";
    var tr = document.createElement("tr");
    tr.appendChild(el("td", "total"));
    METRICS.forEach(function (m) { tr.appendChild(el("td", fmt(totals[m[0]]), "num")); });
    foot.appendChild(tr);
  }

  // --- the call list, recordings and tags ---------------------------------------------
  function tagPills(tags) {
    var span = document.createElement("span");
    (tags || []).forEach(function (t) {
      span.appendChild(el("span", t.category + (t.value ? ": " + t.value : ""), "tagpill" + (t.by === "manual" ? " manual" : "")));
    });
    return span;
  }

  function classes(c) {
    var k = c.classification || {};
    return ["unique", "target", "repeated"].filter(function (n) { return k[n]; }).join(", ");
  }

  // The call log's columns: the reader picks them (kept in this browser); the defaults fit
  // a 1,366 px screen without scrolling.
  function phoneText(n) {
    if (!n) return "–";
    var d = String(n).replace(/[^0-9]/g, "");
    if (d.length === 11 && d[0] === "1") return "(" + d.slice(1, 4) + ") " + d.slice(4, 7) + "-" + d.slice(7);
    if (d.slice(0, 2) === "44" && d.length === 12) return "+44 " + d.slice(2, 4) + " " + d.slice(4, 8) + " " + d.slice(8);
    if (d.slice(0, 2) === "49") return "+49 " + d.slice(2, 5) + " " + d.slice(5);
    return "+" + d;
  }
  function duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  var CALL_COLUMNS = [
    ["started", "Started", true, function (c) {
      return new Date(c.started_at).toLocaleString([], { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
    }],
    ["direction", "Direction", false, function (c) { return words(c.direction); }],
    ["status", "Status", true, function (c) { return statusText(c); }],
    ["source", "Source / medium", true, function (c) { return (c.source || "–") + " / " + (c.medium || "–"); }],
    ["campaign", "Campaign / keyword", true, function (c) { return (c.campaign || "–") + (c.keyword ? " / " + c.keyword : ""); }],
    ["landing", "Landing page", false, function (c) { return c.landing_page || "–"; }],
    ["tracking", "Tracking number", false, function (c) { return phoneText(c.tracking_number); }],
    ["caller", "Caller", true, function (c) { return c.caller ? phoneText(c.caller) : "(hidden)"; }],
    ["wait", "Wait", false, function (c) { return duration(c.wait_seconds); }, "num"],
    ["talk", "Talk", true, function (c) { return duration(c.talk_seconds); }, "num"],
    ["class", "Class", false, function (c) { return classes(c); }],
    ["tags", "Tags", true, null, "tags"],
    ["value", "Value", true, function (c) { return c.value === null || c.value === undefined ? "–" : fmt(c.value); }, "num value"],
  ];
  function shownColumns() {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem("calltrack.columns") || "null"); } catch (e) { saved = null; }
    return CALL_COLUMNS.filter(function (col) { return saved ? saved.indexOf(col[0]) >= 0 : col[2]; });
  }
  function columnPicker() {
    var box = $("columns-list");
    box.textContent = "";
    var shown = shownColumns().map(function (col) { return col[0]; });
    CALL_COLUMNS.forEach(function (col) {
      var label = el("label", null, "check");
      var input = document.createElement("input");
      input.type = "checkbox";
      input.value = col[0];
      input.checked = shown.indexOf(col[0]) >= 0;
      input.addEventListener("change", function () {
        var picked = Array.from(box.querySelectorAll("input:checked")).map(function (i) { return i.value; });
        localStorage.setItem("calltrack.columns", JSON.stringify(picked));
        renderCalls(state.shownCalls, state.shownTotal);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + col[1]));
      box.appendChild(label);
    });
  }

  function renderCalls(calls, total) {
    state.shownCalls = calls || [];
    state.shownTotal = total;
    var columns = shownColumns();
    var head = $("calls-table").tHead.rows[0];
    head.textContent = "";
    columns.forEach(function (col) { head.appendChild(el("th", col[1], col[4] && col[4].indexOf("num") === 0 ? "num" : "")); });
    head.appendChild(el("th", ""));
    var body = $("calls-table").tBodies[0];
    body.textContent = "";
    (calls || []).forEach(function (c) {
      var tr = document.createElement("tr");
      tr.dataset.callId = c.call_id;
      columns.forEach(function (col) {
        var td = el("td", col[3] ? col[3](c) : null, col[4] || "");
        td.dataset.column = col[0];
        if (col[0] === "tags") td.appendChild(tagPills(c.tags));
        if (col[0] === "status") td.classList.add("status");
        tr.appendChild(td);
      });
      var actions = document.createElement("td");
      actions.className = "actions";
      var details = el("button", "Details", "details");
      details.type = "button";
      details.addEventListener("click", function () { openCall(c.call_id); });
      actions.appendChild(details);
      if (c.recording_url) {
        var play = el("button", "▶", "play");
        play.title = "Play the recording";
        play.type = "button";
        play.addEventListener("click", function () { playRecording(c); });
        actions.appendChild(play);
      }
      if (can("PUT /calls/{call_id}/tags")) {
        var tag = el("button", "Tag", "tag");
        tag.type = "button";
        tag.addEventListener("click", function () { openTagDialog(c); });
        actions.appendChild(tag);
      }
      if (can("PUT /calls/{call_id}/spam")) {
        var verdict = el("button", c.spam ? "Not spam" : "Spam", "spam");
        verdict.type = "button";
        verdict.addEventListener("click", function () { markSpam(c, tr, verdict); });
        actions.appendChild(verdict);
      }
      tr.appendChild(actions);
      body.appendChild(tr);
    });
    var more = total > (calls || []).length;
    $("calls-more").textContent = more ? "Showing the newest " + calls.length + " of " + total + " calls." : "";
    $("calls-show-more").hidden = !(more && can("GET /reports") && state.callLimit < 1000);
  }

  // --- a call's detail page: caller, timeline, the visit, other calls, transcript --------
  function when(isoText) { return isoText ? new Date(isoText).toLocaleString() : "–"; }

  function openCall(callId) {
    state.callId = callId;
    if (state.tab !== "calls") switchTab("calls");
    saveView();
    busy("loading");
    return api("/calls/" + encodeURIComponent(callId) + "/story").then(function (story) {
      state.story = story;
      renderStory(story);
      $("call-detail").hidden = false;
      $("calls-table").hidden = true;
      $("filters-panel").hidden = true;       // one call: the list's filters step aside
      ["columns", "calls-more", "calls-show-more", "calls-next"].forEach(function (id) { $(id).hidden = true; });
      window.scrollTo(0, 0);
      return api("/calls/" + encodeURIComponent(callId) + "/transcript").then(renderTranscript, function (err) {
        $("cd-transcript").textContent = "";
        $("cd-analysis").textContent = err.status === 404 ? "No transcript for this call (yet)." : err.message;
      });
    }).then(function () { busy("ready"); }).catch(function (err) {
      $("error").textContent = err.status === 404 ? "That call is not one you can open." : err.message;
      busy("error");
      closeCall();
    });
  }

  function closeCall() {
    state.callId = null;
    state.story = null;
    $("call-detail").hidden = true;
    $("calls-table").hidden = false;
    $("columns").hidden = false;
    $("calls-more").hidden = false;
    if (state.shownCalls) renderCalls(state.shownCalls, state.shownTotal);   // its buttons as they were
    if (!can("GET /reports")) $("calls-next").hidden = !state.nextCalls;
    $("filters-panel").hidden = !(state.tab === "calls" && can("GET /reports"));
    if (state.me) saveView();
  }

  function listItem(parent, parts) {
    var li = document.createElement("li");
    parts.forEach(function (p, i) {
      if (p === null || p === undefined || p === "") return;
      li.appendChild(i === 0 ? el("b", p) : document.createTextNode((li.childNodes.length ? " · " : "") + p));
    });
    parent.appendChild(li);
    return li;
  }

  function renderStory(story) {
    var c = story.call;
    $("cd-caller").textContent = story.caller.display;
    $("cd-place").textContent = [story.caller.place, story.caller.country].filter(Boolean).join(", ");
    $("cd-status").textContent = story.status_words + (c.spam ? " · spam" : "");
    $("cd-when").textContent = when(c.started_at) + " on " + (c.tracking_number || "–");
    $("cd-tags").textContent = "";
    $("cd-tags").appendChild(tagPills(c.tags));
    $("cd-value").textContent = c.value === null || c.value === undefined ? "" : "value " + fmt(c.value) + " " + (c.currency || "");
    $("cd-play").hidden = !c.recording_url;
    $("cd-tag").hidden = !can("PUT /calls/{call_id}/tags");
    var timeline = $("cd-timeline");
    timeline.textContent = "";
    story.timeline.forEach(function (step) {
      listItem(timeline, [step.what, step.at ? new Date(step.at).toLocaleTimeString() : null, step.detail]);
    });
    var j = story.journey;
    var dl = $("cd-journey");
    dl.textContent = "";
    [["Source / medium", (j.source || "–") + " / " + (j.medium || "–")], ["Campaign", j.campaign],
      ["Keyword", j.keyword], ["Landing page", j.landing_page], ["Referrer", j.referrer],
      ["Visit started", j.started_at ? when(j.started_at) : null], ["Tracking", words(j.method || "none")],
      ["Match confidence", j.attribution_confidence === null ? null : Math.round(j.attribution_confidence * 100) + "%"],
      ["Device", [j.device, j.browser, j.os].filter(Boolean).join(", ")], ["Country", j.country],
      ["GA client / session", j.ga_client_id ? j.ga_client_id + " / " + (j.ga_session_id || "–") : null],
      ["Ad clicks", Object.keys(j.click_ids || {}).map(function (k) { return k + " " + j.click_ids[k]; }).join(", ")]
    ].forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") return;
      dl.appendChild(el("dt", pair[0]));
      dl.appendChild(el("dd", pair[1]));
    });
    var pages = $("cd-pages");
    pages.textContent = "";
    (j.pages || []).forEach(function (p) { listItem(pages, [p.at ? new Date(p.at).toLocaleTimeString() : "", p.url]); });
    if (!(j.pages || []).length) pages.appendChild(el("li", "No pages recorded (a static or default number)."));
    var history = $("cd-history");
    history.textContent = "";
    story.history.forEach(function (h) {
      var li = listItem(history, [when(h.started_at), h.status_words, (h.source || "–") + " / " + (h.medium || "–")]);
      var link = el("a", "open");
      link.addEventListener("click", function () { openCall(h.call_id); });
      li.appendChild(document.createTextNode(" "));
      li.appendChild(link);
    });
    if (!story.history.length) history.appendChild(el("li", "The first call from this number."));
  }

  function renderTranscript(t) {
    var box = $("cd-transcript");
    box.textContent = "";
    (t.segments || []).forEach(function (s) {
      var p = el("p", null, s.speaker === "caller" ? "caller" : "agent");
      p.appendChild(el("b", (s.speaker || "?") + " "));
      p.appendChild(document.createTextNode(s.text));
      box.appendChild(p);
    });
    var a = t.analysis || {};
    var fired = (a.fired || []).map(function (f) { return f.name || f.rule; });
    $("cd-analysis").textContent = (t.analysis ? "Lead: " + (a.lead ? words(a.lead) : "no label") + ", score " +
      (a.score || 0) : "Not analysed yet") +
      (fired.length ? " · rules: " + fired.join(", ") : "");
  }

  // Roles without reports (agents) list their calls from /calls, newest first, page by page.
  function loadCallList(more) {
    var params = new URLSearchParams({ limit: "50" });
    if (more && state.nextCalls) params.set("next", state.nextCalls);
    busy("loading");
    return api("/calls?" + params.toString()).then(function (page) {
      state.calls = (more ? state.calls : []).concat(page.calls);
      state.nextCalls = page.next;
      renderCalls(state.calls, state.calls.length);
      $("calls-next").hidden = !page.next;
      state.loads += 1;
      document.body.dataset.loads = String(state.loads);
      busy("ready");
    }).catch(function (err) { $("error").textContent = err.message; busy("error"); });
  }

  function statusText(c) {
    return words(c.status) + (c.spam ? " · spam (" + (c.spam_reasons || []).join(", ") + ")" : "");
  }

  // A person's verdict (docs/intelligence.md): spam leaves the reports; "Not spam" overrides every reason.
  function markSpam(c, tr, button) {
    api("/calls/" + encodeURIComponent(c.call_id) + "/spam", { method: "PUT", body: { spam: !c.spam } })
      .then(function (updated) {
        Object.assign(c, { spam: updated.spam, spam_reasons: updated.spam_reasons });
        var cell = tr.querySelector("td.status");
        if (cell) cell.textContent = statusText(c);
        button.textContent = c.spam ? "Not spam" : "Spam";
      }).catch(function (err) { $("status-line").textContent = "Not saved: " + err.message; });
  }

  function playRecording(c) {
    var player = $("player");
    $("player-label").textContent = "Loading the recording…";
    function play(src) {
      player.src = src;
      player.dataset.callId = c.call_id;
      $("player-label").textContent = "Call " + c.call_id + " from " + (c.source || "unknown source");
      return player.play();
    }
    function fromVonage() {   // not archived (yet): the bytes through the API, up to 5 MB
      return api("/calls/" + encodeURIComponent(c.call_id) + "/recording", { raw: true, headers: { Accept: AUDIO } })
        .then(function (r) { return r.blob(); })
        .then(function (blob) {
          if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
          state.blobUrl = URL.createObjectURL(blob);
          return play(state.blobUrl);
        });
    }
    // The archived copy plays straight from S3 by a five-minute link (any length, any age).
    api("/calls/" + encodeURIComponent(c.call_id) + "/recording-link")
      .then(function (link) { return play(link.url); },
            function (err) { if (err.status === 404) return fromVonage(); throw err; })
      .catch(function (err) { $("player-label").textContent = "The recording could not be played: " + err.message; });
  }

  function loadCategories() {
    return api("/config/tag_categories").then(function (s) { state.categories = (s && s.value) || []; })
      .catch(function () { state.categories = []; });
  }

  function openTagDialog(c) {
    state.tagging = c;
    $("tag-call").textContent = c.call_id;
    $("tag-error").textContent = "";
    var select = $("tag-category");
    select.textContent = "";
    state.categories.forEach(function (k) { select.appendChild(el("option", k.name)); });
    var manual = (c.tags || []).filter(function (t) { return t.by === "manual"; })[0];
    if (manual) select.value = manual.category;
    fillLabels();
    $("tag-value").value = manual && manual.value ? manual.value : "";
    $("tag-amount").value = c.value === null ? "" : c.value;
    $("tag-dialog").showModal();
  }

  function fillLabels() {
    var category = state.categories.filter(function (k) { return k.name === $("tag-category").value; })[0] || {};
    var list = $("tag-values");
    list.textContent = "";
    (category.values || []).forEach(function (v) { list.appendChild(el("option", v)); });
  }

  function saveTags(clear) {
    var c = state.tagging;
    var amount = $("tag-amount").value;
    var body = { tags: clear ? [] : [{ category: $("tag-category").value, value: $("tag-value").value || null }] };
    if (amount !== "") body.value = Number(amount);
    api("/calls/" + encodeURIComponent(c.call_id) + "/tags", { method: "PUT", body: body }).then(function (updated) {
      $("tag-dialog").close();
      var row = document.querySelector('#calls-table tr[data-call-id="' + CSS.escape(c.call_id) + '"]');
      if (row) {
        var cell = row.querySelector("td.tags");
        if (cell) { cell.textContent = ""; cell.appendChild(tagPills(updated.tags)); }
        var worth = row.querySelector("td.value");
        if (worth) worth.textContent = updated.value === null ? "–" : fmt(updated.value);
      }
      Object.assign(c, { tags: updated.tags, value: updated.value });
      if (state.story && state.story.call.call_id === c.call_id) openCall(c.call_id);   // the detail shows it
    }).catch(function (err) { $("tag-error").textContent = err.message; });
  }

  // On the Calls tab the export is the calls themselves (newest 1,000), elsewhere the rows.
  function exportCsv() {
    var params = filterParams();
    var calls = state.tab === "calls";
    params.set("group_by", $("f-group").value);
    params.set("format", "csv");
    if (calls) { params.set("include", "calls"); params.set("limit", "1000"); }
    api("/reports?" + params.toString(), { raw: true }).then(function (r) { return r.blob(); }).then(function (blob) {
      var a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = "calltrack-" + state.account + "-" + (calls ? "calls" : $("f-group").value) + ".csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
    }).catch(function (err) { $("error").textContent = err.message; });
  }

  // --- pools --------------------------------------------------------------------------
  function loadPools() {
    busy("loading");
    api("/pool-health?days=" + $("pool-days").value).then(function (h) {
      var body = $("pools-table").tBodies[0];
      body.textContent = "";
      h.pools.forEach(function (p) {
        var tr = document.createElement("tr");
        tr.dataset.pool = p.pool_id;
        [p.pool_id, p.size, p.leased_now, p.peak_concurrent_leases, p.peak_utilisation_pct, p.peak_with_cooldown,
          p.exhaustions, p.recommended_size].forEach(function (v, i) { tr.appendChild(el("td", fmt(v), i ? "num" : "")); });
        body.appendChild(tr);
      });
      var box = $("pools-advice");
      box.textContent = "";
      h.pools.forEach(function (p) { box.appendChild(poolAdvice(p)); });
      busy("ready");
    }).catch(function (err) { $("error").textContent = err.message; busy("error"); });
  }

  // The one recommendation (chalicelib/dni/sizing.py) in words, with the reliability table.
  function poolAdvice(p) {
    var r = p.recommendation || {};
    var box = el("div");
    box.className = "pool-advice";
    box.dataset.pool = p.pool_id;
    var want = p.recommended_size, size = p.size;
    var head = "Pool " + p.pool_id + ": " + (want > size ? "add " + (want - size) + " numbers" : "big enough") +
      " (recommended " + want + ", from " + (r.basis === "simulated" ? "a replay of its own sessions" :
        "its busiest moment with cool-down, +25%") + ")";
    if (r.expected_accuracy !== null && r.expected_accuracy !== undefined) {
      head += ": expected " + (100 * r.expected_accuracy).toFixed(1) + "% of calls during or up to 10 min after the visit right";
    }
    box.appendChild(el("p", head + "."));
    if (r.warning) { var w = el("p", r.warning); w.className = "warning"; box.appendChild(w); }
    if (r.basis === "peak" && !r.simulated_need) {
      box.appendChild(el("p", "No replay of this pool's sessions yet: it runs daily (or calltrack advise --pool " + p.pool_id + ")."));
    }
    if (p.reliability && p.reliability.bands) {
      var t = el("table");
      t.className = "grid reliability";
      var headRow = el("tr");
      ["Confidence", "Calls", "Right"].forEach(function (h) { headRow.appendChild(el("th", h)); });
      t.appendChild(headRow);
      p.reliability.bands.forEach(function (b) {
        var tr = el("tr");
        tr.appendChild(el("td", b.band));
        tr.appendChild(el("td", fmt(b.calls), "num"));
        tr.appendChild(el("td", b.right === null ? "–" : (100 * b.right).toFixed(1) + "%", "num"));
        t.appendChild(tr);
      });
      box.appendChild(el("p", "How often an answer of each confidence was right, replaying this pool's sessions at " +
        p.reliability.pool_size + " numbers (AUC " + (p.reliability.auc === null ? "–" : p.reliability.auc) + "):"));
      box.appendChild(t);
    }
    return box;
  }

  // --- settings -----------------------------------------------------------------------
  var NUMBER_SETTINGS = ["target_seconds", "sales_cycle_days", "greeting_seconds", "retention_days",
    "lease_ttl_seconds", "cooldown_seconds"];

  function hoursFields() {
    var box = $("s-hours");
    if (box.querySelector("input")) return;
    DAYS.forEach(function (d) {
      var label = el("label", d);
      var open = el("input"); open.type = "time"; open.id = "s-open-" + d;
      var close = el("input"); close.type = "time"; close.id = "s-close-" + d;
      label.appendChild(open);
      label.appendChild(close);
      box.appendChild(label);
    });
  }

  function categoriesText(categories) {
    return (categories || []).map(function (k) {
      return [k.code || "", k.name, (k.values || []).join(", "), k.default_value === undefined ? "" : k.default_value].join("; ");
    }).join("\n");
  }

  function parseCategories(text) {
    return text.split("\n").map(function (l) { return l.trim(); }).filter(Boolean).map(function (line) {
      var p = line.split(";").map(function (x) { return x.trim(); });
      var k = { name: p[1] || p[0] };
      if (p.length > 1 && p[0]) k.code = p[0];
      if (p[2]) k.values = p[2].split(",").map(function (v) { return v.trim(); }).filter(Boolean);
      if (p[3]) k.default_value = Number(p[3]);
      return k;
    });
  }

  function loadSettings() {
    hoursFields();
    $("settings-error").textContent = "";
    busy("loading");
    Promise.all([api("/settings"), loadCategories(), loadSections()]).then(function (res) {
      var s = res[0];
      state.settings = s;
      $("s-timezone").value = s.timezone; $("s-target").value = s.target_seconds; $("s-cycle").value = s.sales_cycle_days;
      $("s-greeting").value = s.greeting_seconds; $("s-value").value = s.default_value; $("s-currency").value = s.currency;
      $("s-pii").value = s.pii_policy; $("s-retention").value = s.retention_days; $("s-lease").value = s.lease_ttl_seconds;
      $("s-cooldown").value = s.cooldown_seconds; $("s-cooldown-mode").value = s.cooldown_mode;
      DAYS.forEach(function (d) {
        var h = (s.working_hours || {})[d] || ["", ""];
        $("s-open-" + d).value = h[0]; $("s-close-" + d).value = h[1];
      });
      $("s-tags").value = categoriesText(state.categories);
      state.tagsText = $("s-tags").value;
      busy("ready");
    }).catch(function (err) { $("settings-error").textContent = err.message; busy("error"); });
  }

  function settingsChanges() {
    var form = new FormData($("settings-form"));
    var next = {};
    form.forEach(function (v, k) { next[k] = NUMBER_SETTINGS.indexOf(k) >= 0 ? parseInt(v, 10) : v; });
    next.default_value = Number(next.default_value);
    next.working_hours = {};
    DAYS.forEach(function (d) {
      var a = $("s-open-" + d).value, b = $("s-close-" + d).value;
      if (a && b) next.working_hours[d] = [a, b];
    });
    var changes = {};
    Object.keys(next).forEach(function (k) {
      if (JSON.stringify(next[k]) !== JSON.stringify(state.settings[k])) changes[k] = next[k];
    });
    return changes;
  }

  function saveSettings(ev) {
    ev.preventDefault();
    $("settings-error").textContent = "";
    $("settings-status").textContent = "";
    var changes = settingsChanges();
    var jobs = [];
    if (Object.keys(changes).length) {
      jobs.push(api("/settings", { method: "PATCH", body: changes }).then(function (s) { state.settings = s; }));
    }
    if ($("s-tags").value !== state.tagsText) {
      jobs.push(api("/config/tag_categories", { method: "PUT", body: { value: parseCategories($("s-tags").value) } })
        .then(function (s) { state.categories = s.value || []; state.tagsText = $("s-tags").value; }));
    }
    busy("loading");
    Promise.all(jobs).then(function () {
      $("settings-status").textContent = jobs.length ? "Saved." : "Nothing changed.";
      busy("ready");
    }).catch(function (err) { $("settings-error").textContent = err.message; busy("error"); });
  }

  // --- configuration sections as forms, built from each section's JSON Schema ------------
  // Every field the schema names gets an input of its kind (text, number, yes/no, a choice,
  // lists and maps of entries with Add/Remove); what the form cannot draw stays a small
  // JSON box. The JSON view of the whole section stays one click away.
  function typeOf(schema) {
    var t = schema.type;
    var list = Array.isArray(t) ? t : t ? [t] : [];
    return { list: list, nullable: list.indexOf("null") >= 0,
      is: function (k) { return list.indexOf(k) >= 0; } };
  }
  function words2(name) { return String(name).replace(/_/g, " "); }
  function secretName(name) { return /secret|token|password|api_key|private/i.test(String(name)); }

  function jsonField(value) {
    var box = document.createElement("textarea");
    box.rows = 3;
    box.cols = 50;
    box.spellcheck = false;
    box.value = value === undefined ? "" : JSON.stringify(value, null, 1);
    return { node: box, read: function () {
      var text = box.value.trim();
      if (!text) return undefined;
      try { return JSON.parse(text); } catch (e) { throw new Error("not JSON: " + text.slice(0, 40)); }
    } };
  }

  function buildField(name, schema, value) {
    schema = schema || {};
    var t = typeOf(schema);
    var wrap, input;
    if (schema.enum) {
      input = document.createElement("select");
      input.appendChild(el("option", "(not set)")).value = "";
      schema.enum.forEach(function (v, i) {
        var o = el("option", v === null ? "(none)" : String(v));
        o.value = String(i);
        if (value !== undefined && JSON.stringify(value) === JSON.stringify(v)) o.selected = true;
        input.appendChild(o);
      });
      return { node: input, read: function () { return input.value === "" ? undefined : schema.enum[+input.value]; } };
    }
    if (t.is("boolean") && t.list.length <= 2) {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = value === true;
      return { node: input, read: function () { return value === undefined && !input.checked ? undefined : input.checked; } };
    }
    if ((t.is("integer") || t.is("number")) && !t.is("object") && !t.is("string")) {
      input = document.createElement("input");
      input.type = "number";
      if (schema.minimum !== undefined) input.min = schema.minimum;
      if (schema.maximum !== undefined) input.max = schema.maximum;
      input.step = t.is("integer") ? "1" : "any";
      input.value = value === undefined || value === null ? "" : String(value);
      return { node: input, read: function () {
        if (input.value === "") return t.nullable && value === null ? null : undefined;
        return Number(input.value);
      } };
    }
    if (t.is("string") && !t.is("object") && !t.is("array")) {
      var long = (schema.maxLength || 0) > 200;
      input = document.createElement(long ? "textarea" : "input");
      if (long) { input.rows = 2; input.cols = 60; } else { input.type = secretName(name) ? "password" : "text"; }
      if (schema.pattern) input.title = "format: " + schema.pattern;
      input.value = value === undefined || value === null ? "" : String(value);
      return { node: input, read: function () {
        if (input.value === "") return t.nullable && value !== undefined ? null : undefined;
        return input.value;
      } };
    }
    if (t.is("object") && schema.properties) {
      wrap = document.createElement("fieldset");
      wrap.className = "schema-object";
      if (name) wrap.appendChild(el("legend", words2(name)));
      var fields = {};
      Object.keys(schema.properties).forEach(function (key) {
        var sub = buildField(key, schema.properties[key], value ? value[key] : undefined);
        fields[key] = sub;
        // A nested form is not inside a <label>: a label's click goes to its first input.
        var row = el(sub.node.tagName === "FIELDSET" ? "div" : "label", null, "schema-row");
        row.appendChild(el("span", words2(key) + ((schema.required || []).indexOf(key) >= 0 ? " *" : "")));
        row.appendChild(sub.node);
        if (schema.properties[key].description) row.title = schema.properties[key].description;
        wrap.appendChild(row);
      });
      return { node: wrap, read: function () {
        var out = {};
        Object.keys(fields).forEach(function (key) {
          var v = fields[key].read();
          if (v !== undefined) out[key] = v;
        });
        if (!Object.keys(out).length) return t.nullable && value === null ? null : value === undefined ? undefined : {};
        return out;
      } };
    }
    if (t.is("object") && schema.additionalProperties && typeof schema.additionalProperties === "object") {
      return listField(name, schema.additionalProperties, value ? Object.keys(value).map(function (k) {
        return [k, value[k]];
      }) : [], true, t.nullable && value === null);
    }
    if (t.is("array") && schema.items && (typeOf(schema.items).is("object") || schema.items.properties)) {
      return listField(name, schema.items, (value || []).map(function (v) { return [null, v]; }), false, false);
    }
    if (t.is("array") && schema.items && !schema.items.oneOf) {
      input = document.createElement("textarea");
      input.rows = 3;
      input.cols = 40;
      input.placeholder = "one per line";
      input.value = (value || []).join("\n");
      var numeric = typeOf(schema.items).is("number") || typeOf(schema.items).is("integer");
      return { node: input, read: function () {
        var lines = input.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
        if (!lines.length && value === undefined) return undefined;
        return numeric ? lines.map(Number) : lines;
      } };
    }
    return jsonField(value);
  }

  // Entries of a list (array of objects) or a map (object of objects, e.g. IVR digit → department).
  function listField(name, itemSchema, entries, keyed, wasNull) {
    var wrap = document.createElement("fieldset");
    wrap.className = "schema-list";
    if (name) wrap.appendChild(el("legend", words2(name)));
    var rows = [];
    var holder = document.createElement("div");
    wrap.appendChild(holder);
    function add(key, value) {
      var row = document.createElement("div");
      row.className = "schema-entry";
      var keyInput = null;
      if (keyed) {
        keyInput = document.createElement("input");
        keyInput.size = 4;
        keyInput.value = key || "";
        keyInput.placeholder = "key";
        row.appendChild(keyInput);
      }
      var field = buildField("", itemSchema, value);
      row.appendChild(field.node);
      var remove = el("button", "Remove", "remove");
      remove.type = "button";
      var entry = { key: keyInput, field: field };
      remove.addEventListener("click", function () { holder.removeChild(row); rows.splice(rows.indexOf(entry), 1); });
      row.appendChild(remove);
      holder.appendChild(row);
      rows.push(entry);
    }
    entries.forEach(function (e) { add(e[0], e[1]); });
    var more = el("button", "Add", "add");
    more.type = "button";
    more.addEventListener("click", function () { add("", undefined); });
    wrap.appendChild(more);
    return { node: wrap, read: function () {
      if (keyed) {
        var out = {};
        rows.forEach(function (r) { if (r.key.value.trim()) out[r.key.value.trim()] = r.field.read() || {}; });
        return Object.keys(out).length ? out : (wasNull ? null : undefined);
      }
      var list = rows.map(function (r) { return r.field.read(); }).filter(function (v) { return v !== undefined; });
      return list.length || entries.length ? list : undefined;
    } };
  }

  function loadSections() {
    return Promise.all([api("/config"), api("/rules"), api("/geo")]).then(function (all) {
      var c = all[0];
      state.sections = c.sections || {};
      state.sectionSchemas = c.schemas || {};
      // Tracking and geo rules have routes of their own; the form treats them as sections.
      state.resources = { "tracking rules": { path: "/rules", schema: (c.resources || {}).rules, value: all[1] },
        "geo rules": { path: "/geo", schema: (c.resources || {}).geo, value: all[2] } };
      var select = $("c-section");
      var current = select.value;
      select.textContent = "";
      Object.keys(state.sections).concat(Object.keys(state.resources)).sort().forEach(function (name) {
        var o = el("option", words2(name));
        o.value = name;
        select.appendChild(o);
      });
      if (current && state.sections.hasOwnProperty(current)) select.value = current;
      showSection();
    }).catch(function (err) { $("c-error").textContent = err.message; });
  }

  function sectionNow() {
    var name = $("c-section").value;
    var resource = state.resources && state.resources[name];
    return { name: name, resource: resource, value: resource ? resource.value : state.sections[name],
      schema: resource ? resource.schema : (state.sectionSchemas || {})[name] };
  }

  function showSection() {
    var now = sectionNow();
    var value = now.value;
    $("c-value").value = value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
    $("c-status").textContent = "";
    $("c-error").textContent = "";
    $("c-dry-run").hidden = now.name !== "call_rules";
    var box = $("c-form");
    box.textContent = "";
    state.sectionForm = now.schema ? buildField("", now.schema, value === null ? undefined : value) : null;
    if (state.sectionForm) box.appendChild(state.sectionForm.node);
    setSectionMode(state.sectionForm ? state.sectionMode || "form" : "json");
  }

  function setSectionMode(mode) {
    if (mode === "json" && state.sectionForm && state.sectionMode === "form") {
      try {   // what the form holds now, as text
        var v = state.sectionForm.read();
        $("c-value").value = v === undefined ? "" : JSON.stringify(v, null, 2);
      } catch (e) { $("c-error").textContent = e.message; }
    }
    if (mode === "form" && state.sectionMode === "json" && $("c-value").value.trim()) {
      try {   // the text, drawn as the form again
        var parsed = JSON.parse($("c-value").value);
        var box = $("c-form");
        box.textContent = "";
        state.sectionForm = buildField("", sectionNow().schema, parsed);
        box.appendChild(state.sectionForm.node);
      } catch (e) { $("c-error").textContent = "Not valid JSON: " + e.message; return; }
    }
    state.sectionMode = mode;
    $("c-form").hidden = mode !== "form";
    $("c-value").hidden = mode !== "json";
    $("c-mode-form").classList.toggle("active", mode === "form");
    $("c-mode-json").classList.toggle("active", mode === "json");
  }

  // The section's value as the form or the JSON text holds it (undefined: empty).
  function sectionValue() {
    if (state.sectionMode === "form" && state.sectionForm) return state.sectionForm.read();
    var text = $("c-value").value.trim();
    return text === "" ? undefined : JSON.parse(text);
  }

  // Conversation rules tried on the last 30 days' calls, nothing changed (docs/intelligence.md).
  function dryRun() {
    var body = { from: isoDay(new Date(Date.now() - 29 * 86400000)), to: isoDay(new Date()) };
    $("c-status").textContent = "Trying the rules…";
    $("c-error").textContent = "";
    try {
      var rules = sectionValue();
      if (rules !== undefined) body.rules = rules;
    } catch (e) {
      $("c-status").textContent = "";
      $("c-error").textContent = "Not valid: " + e.message;
      return;
    }
    var total = { read: 0, transcribed: 0, matched: 0, byRule: {} };
    function page(n) {
      return api("/call-rules/dry-run", { method: "POST", body: body }).then(function (r) {
        total.read += r.calls_read; total.transcribed += r.with_transcript; total.matched += r.calls_matched;
        Object.keys(r.by_rule).forEach(function (k) { total.byRule[k] = (total.byRule[k] || 0) + r.by_rule[k]; });
        if (r.next && n < 20) { body.next = r.next; return page(n + 1); }
      });
    }
    page(1).then(function () {
      var rules = Object.keys(total.byRule).map(function (k) { return k + ": " + total.byRule[k]; }).join(", ");
      $("c-status").textContent = total.read + " calls read (" + total.transcribed + " with a transcript), " +
        total.matched + " matched" + (rules ? " — " + rules : "") + ". Nothing was changed.";
    }).catch(function (err) { $("c-status").textContent = ""; $("c-error").textContent = err.message; });
  }

  function saveSection(ev) {
    ev.preventDefault();
    var now = sectionNow();
    var name = now.name;
    var value;
    $("c-status").textContent = "";
    $("c-error").textContent = "";
    try {
      value = sectionValue();
    } catch (e) {
      $("c-error").textContent = "Not valid: " + e.message;
      return;
    }
    if (now.resource) {     // tracking or geo rules: their own route, their own body
      api(now.resource.path, { method: "PUT", body: value === undefined ? {} : value }).then(function (r) {
        now.resource.value = r;
        $("c-status").textContent = "Saved.";
      }).catch(function (err) { $("c-error").textContent = err.message; });
      return;
    }
    api("/config/" + encodeURIComponent(name), { method: "PUT", body: { value: value === undefined ? null : value } })
      .then(function (r) {
        state.sections[name] = r.value;
        if (name === "tag_categories") { state.categories = r.value || []; }
        $("c-status").textContent = "Saved.";
      }).catch(function (err) { $("c-error").textContent = err.message; });
  }

  // --- tabs and wiring ----------------------------------------------------------------
  function switchTab(tab) {
    state.tab = tab;
    if (tab !== "calls" && state.callId) closeCall();
    if (state.me) saveView();
    document.querySelectorAll("#tabs button").forEach(function (b) { b.classList.toggle("active", b.dataset.tab === tab); });
    document.querySelectorAll("section.tab").forEach(function (s) { s.hidden = s.id !== tab; });
    $("filters-panel").hidden = !((tab === "reports" || tab === "calls") && can("GET /reports"));
    if (tab === "pools") loadPools();
    if (tab === "settings") loadSettings();
  }

  function init() {
    defaultDates();
    $("signin-form").addEventListener("submit", signIn);
    $("user-signin-form").addEventListener("submit", signInUser);
    $("challenge-form").addEventListener("submit", answerChallenge);
    $("forgot-btn").addEventListener("click", forgotPassword);
    $("reset-form").addEventListener("submit", resetPassword);
    $("account-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      enter($("account-picker").value).catch(function (err) { $("user-signin-error").textContent = err.message; });
    });
    $("calls-next").addEventListener("click", function () { loadCallList(true); });
    $("cd-back").addEventListener("click", closeCall);
    $("cd-play").addEventListener("click", function () { playRecording(state.story.call); });
    $("cd-tag").addEventListener("click", function () { openTagDialog(state.story.call); });
    $("signout").addEventListener("click", signOut);
    $("security").addEventListener("click", openMfa);
    $("mfa-enable").addEventListener("click", enableMfa);
    $("mfa-disable").addEventListener("click", disableMfa);
    $("mfa-close").addEventListener("click", function () { $("mfa-dialog").close(); });
    $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); state.callLimit = 200; loadReport(); });
    $("calls-show-more").addEventListener("click", function () {
      state.callLimit = Math.min(1000, state.callLimit + 200);
      loadReport();
    });
    columnPicker();
    $("f-group").addEventListener("change", loadReport);
    $("reset-filters").addEventListener("click", function () {
      $("filters").reset();
      $("f-compare").checked = false;
      defaultDates();
      loadReport();
    });
    $("f-range").addEventListener("change", function () { applyRange($("f-range").value); loadReport(); });
    ["f-from", "f-to"].forEach(function (id) {
      $(id).addEventListener("change", function () { $("f-range").value = ""; });
    });
    $("f-compare").addEventListener("change", loadReport);
    $("export-csv").addEventListener("click", exportCsv);
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.addEventListener("click", function () { switchTab(b.dataset.tab); });
    });
    $("pool-days").addEventListener("change", loadPools);
    $("settings-form").addEventListener("submit", saveSettings);
    $("section-form").addEventListener("submit", saveSection);
    $("c-section").addEventListener("change", showSection);
    $("c-mode-form").addEventListener("click", function () { setSectionMode("form"); });
    $("c-mode-json").addEventListener("click", function () { setSectionMode("json"); });
    $("c-dry-run").addEventListener("click", dryRun);
    $("tag-category").addEventListener("change", fillLabels);
    $("tag-save").addEventListener("click", function () { saveTags(false); });
    $("tag-clear").addEventListener("click", function () { saveTags(true); });
    $("tag-cancel").addEventListener("click", function () { $("tag-dialog").close(); });
    restoreView();
    showSignedIn(false);
    if (state.account && state.key) {   // a reload in the same tab: still signed in?
      busy("loading");
      enter(state.account).catch(function () { signOut(); });
    } else {
      busy("signed-out");
    }
  }

  init();
})();
