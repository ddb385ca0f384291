// The try-it page: plain fetch calls to the API of the server that serves
// it. Tokens stay in this closure, never in storage.
"use strict";

// verificationId: what the last /phone/ answered, passed back with its code
// so that nobody else's wrong guesses can burn it.
// movePhone and moveVerificationId: the number a phone change sent its
// code to, and that send's id.
const state = {
  phone: "", access: "", refresh: "", accountPhone: "", verificationId: "",
  movePhone: "", moveVerificationId: "",
};
const $ = (id) => document.getElementById(id);

class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, { auth = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${state.access}`;
  $("last-request").textContent = `${method} ${path} …`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    $("last-request").textContent = `${method} ${path}: no answer`;
    throw new Problem(0, { detail: "The server did not answer. Is it running?" });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  $("last-request").textContent = `${method} ${path} → ${response.status}`;
  $("last-response").textContent = data === null ? "(no body)" : JSON.stringify(data, null, 2);
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

function say(id, text, kind) {
  const node = $(id);
  node.textContent = text;
  node.className = `status ${kind || ""}`;
}

// Runs a step's action with its button disabled, and reports its error.
async function step(button, statusId, action) {
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    // Access tokens live 5 minutes by default: say how to go on.
    const expired = error.body && error.body.code === "token_not_valid" && statusId !== "tokens-status";
    const hint = expired && state.refresh ? " Refresh the tokens (step 6) and try again." : "";
    say(statusId, error.message + hint, "error");
  } finally {
    button.disabled = false;
    updateButtons();
  }
}

function updateButtons() {
  const loggedIn = Boolean(state.access);
  $("code-form").querySelector("button").disabled = !state.phone;
  $("outbox-refresh").disabled = !state.phone;
  $("profile-reload").disabled = !loggedIn;
  $("invite-form").querySelector("button").disabled = !loggedIn;
  $("token-refresh").disabled = !state.refresh;
  $("token-revoke").disabled = !state.refresh;
  $("token-revoke-all").disabled = !state.refresh;
  $("devices-load").disabled = !loggedIn;
  $("move-send-form").querySelector("button").disabled = !loggedIn;
  $("move-form").querySelector("button").disabled = !loggedIn || !state.movePhone;
  $("delete-send").disabled = !loggedIn;
  $("delete-form").querySelector("button").disabled = !loggedIn;
}

// Forgets this tab's tokens: after a logout or a deletion.
function forgetTokens() {
  state.access = "";
  state.refresh = "";
  showTokens();
}

// A token is shown by its ends only: enough to see it change.
function shortToken(token) {
  return token ? `${token.slice(0, 12)}…${token.slice(-12)}` : "none";
}

function showTokens() {
  $("access-token").textContent = shortToken(state.access);
  $("refresh-token").textContent = shortToken(state.refresh);
}

function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

async function loadOutbox() {
  const data = await api("GET", `/dev/sms?phone=${encodeURIComponent(state.phone)}`);
  const list = $("outbox");
  list.replaceChildren();
  const messages = data.messages.slice().reverse();
  if (messages.length === 0) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = "Nothing sent to this phone yet.";
    list.append(empty);
  }
  for (const message of messages) {
    const item = document.createElement("li");
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = message.text;
    const at = document.createElement("time");
    at.dateTime = message.at;
    at.textContent = `${message.phone} · ${time(message.at)}`;
    text.append(at);
    item.append(text);
    const code = (message.text.match(/\d{4,8}/) || [])[0];
    if (code) {
      const use = document.createElement("button");
      use.type = "button";
      use.className = "secondary small";
      use.textContent = "Use code";
      use.addEventListener("click", () => {
        $("code").value = code;
        $("code").focus();
      });
      item.append(use);
    }
    list.append(item);
  }
}

function showProfile(profile) {
  const rows = [
    ["User id", profile.id],
    ["Phone", profile.phone],
    ["Invite code", profile.invite],
    ["Activated code", profile.inv || "none"],
    ["Invited by", profile.inv_phone ? `${profile.inv_phone} (id ${profile.parent_invite})` : "nobody"],
    ["Joined", time(profile.date_joined)],
    ["Last login", time(profile.last_login)],
    ["Referrals", String(profile.referrals_count)],
  ];
  if (profile.referrals.length > 0) {
    const ul = document.createElement("ul");
    ul.className = "referrals";
    for (const referral of profile.referrals) {
      const li = document.createElement("li");
      li.textContent = `${referral.phone} · ${time(referral.date)}`;
      ul.append(li);
    }
    rows.push(["Invited", ul]);
  }
  const list = $("profile");
  list.replaceChildren();
  for (const [name, value] of rows) {
    const row = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = name;
    // A string goes in as text, never as markup.
    dd.append(value instanceof Node ? value : String(value));
    dd.dataset.field = name;
    row.append(dt, dd);
    list.append(row);
  }
}

// The account's live sessions: this one, and any other to log out.
async function loadDevices() {
  const data = await api("GET", "/sessions/", undefined, { auth: true });
  const list = $("devices");
  list.replaceChildren();
  for (const session of data.sessions) {
    const agent = session.user_agent || "a device that did not say";
    const item = document.createElement("li");
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = session.current ? `${agent} (this one)` : agent;
    const at = document.createElement("time");
    at.dateTime = session.last_used || "";
    at.textContent = `since ${time(session.created)} · last used ${time(session.last_used)}`;
    text.append(at);
    item.append(text);
    if (!session.current) {
      const out = document.createElement("button");
      out.type = "button";
      out.className = "secondary small";
      out.textContent = "Log out";
      out.setAttribute("aria-label", `Log out ${agent}`);
      out.addEventListener("click", () => step(out, "devices-status", async () => {
        await api("DELETE", `/sessions/${encodeURIComponent(session.id)}/`, undefined, { auth: true });
        await loadDevices();
        say("devices-status", `Logged out ${agent}.`, "ok");
      }));
      item.append(out);
    }
    list.append(item);
  }
  say("devices-status", `${data.sessions.length} live session(s).`, "ok");
}

async function loadProfile() {
  const profile = await api("GET", "/profile/me/", undefined, { auth: true });
  state.accountPhone = profile.phone;
  showProfile(profile);
  say("profile-status", "", "");
}

// Sends a code to `phone`; `solution` is a solved challenge, when one was
// asked for.
async function sendCode(phone, solution) {
  const body = { phone };
  // The SMS in the reader's language, where the server has a template.
  if (/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(navigator.language || "")) {
    body.locale = navigator.language;
  }
  if (solution) body.challenge = solution;
  let sent;
  try {
    sent = await api("POST", "/phone/", body);
  } catch (error) {
    if (error instanceof Problem && error.body && error.body.code === "challenge_required") {
      askForChallenge(phone, error.body.challenge);
      say("phone-status", "Solving a short check before the code is sent…", "");
      return;
    }
    throw error;
  }
  $("challenge").hidden = true;
  state.phone = phone;
  state.verificationId = sent.verification_id;
  say("phone-status", `${sent.message} It expires in ${sent.expires_in} s; a new one can be sent in ${sent.retry_after} s.`, "ok");
  await loadOutbox();
  $("code").focus();
}

// The ALTCHA widget solves the challenge in a worker; its payload goes
// back with the phone, once.
function askForChallenge(phone, challenge) {
  const widget = document.createElement("altcha-widget");
  widget.setAttribute("challengejson", JSON.stringify(challenge));
  widget.setAttribute("auto", "onload");
  widget.setAttribute("hidefooter", "");
  widget.setAttribute("hidelogo", "");
  widget.addEventListener("verified", (event) => {
    const button = $("phone-form").querySelector("button");
    step(button, "phone-status", () => sendCode(phone, event.detail.payload));
  });
  const box = $("challenge");
  box.querySelectorAll("altcha-widget").forEach((old) => old.remove());
  box.append(widget);
  box.hidden = false;
}

$("phone-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "phone-status", () =>
    sendCode($("phone").value.trim()));
});

$("outbox-refresh").addEventListener("click", (event) => {
  step(event.target, "phone-status", loadOutbox);
});

$("code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "code-status", async () => {
    const login = await api("POST", "/code/", {
      phone: state.phone,
      code: $("code").value.trim(),
      verification_id: state.verificationId,
    });
    state.access = login.access;
    state.refresh = login.refresh;
    showTokens();
    say("code-status", login.created ? `Welcome! Account ${login.user_id} created.` : `Logged in as user ${login.user_id}.`, "ok");
    await loadProfile();
  });
});

$("profile-reload").addEventListener("click", (event) => {
  step(event.target, "profile-status", loadProfile);
});

$("invite-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "invite-status", async () => {
    const inv = $("inv").value.trim();
    showProfile(await api("PATCH", "/profile/me/", { inv }, { auth: true }));
    say("invite-status", `Invite code ${inv.toUpperCase()} activated.`, "ok");
  });
});

$("token-refresh").addEventListener("click", (event) => {
  step(event.target, "tokens-status", async () => {
    const tokens = await api("POST", "/token/refresh/", { refresh: state.refresh });
    state.access = tokens.access;
    state.refresh = tokens.refresh;
    showTokens();
    say("tokens-status", `New tokens at ${new Date().toLocaleTimeString()}; the old refresh token is retired.`, "ok");
  });
});

$("token-revoke").addEventListener("click", (event) => {
  step(event.target, "tokens-status", async () => {
    await api("POST", "/token/revoke/", { refresh: state.refresh });
    forgetTokens();
    say("tokens-status", "Logged out: this session's refresh tokens no longer work.", "ok");
  });
});

$("token-revoke-all").addEventListener("click", (event) => {
  step(event.target, "tokens-status", async () => {
    await api("POST", "/token/revoke/", { refresh: state.refresh, scope: "all" });
    forgetTokens();
    say("tokens-status", "Logged out everywhere: every session of this account has ended.", "ok");
  });
});

// A phone change: a code to the new number (shown in the outbox, which
// follows it), then the account moved there with that code.
$("move-send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "move-status", async () => {
    const phone = $("move-phone").value.trim();
    const sent = await api("POST", "/profile/me/phone/", { phone }, { auth: true });
    state.movePhone = phone;
    state.moveVerificationId = sent.verification_id;
    state.phone = phone;
    await loadOutbox();
    say("move-status", `A code went to ${phone}: see the outbox (step 2).`, "ok");
    $("move-code").focus();
  });
});

$("move-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "move-status", async () => {
    const profile = await api("POST", "/profile/me/phone/verify/", {
      phone: state.movePhone,
      code: $("move-code").value.trim(),
      verification_id: state.moveVerificationId,
    }, { auth: true });
    state.accountPhone = profile.phone;
    state.movePhone = "";
    showProfile(profile);
    say("move-status", `The account is on ${profile.phone} now; the old number is free.`, "ok");
  });
});

$("devices-load").addEventListener("click", (event) => {
  step(event.target, "devices-status", loadDevices);
});

$("delete-send").addEventListener("click", (event) => {
  step(event.target, "delete-status", async () => {
    state.phone = state.accountPhone;
    const sent = await api("POST", "/phone/", { phone: state.accountPhone });
    state.verificationId = sent.verification_id;
    await loadOutbox();
    say("delete-status", `A code went to ${state.accountPhone}: see the outbox (step 2).`, "ok");
    $("delete-code").focus();
  });
});

$("delete-form").addEventListener("submit", (event) => {
  event.preventDefault();
  step(event.submitter || event.target.querySelector("button"), "delete-status", async () => {
    const body = { code: $("delete-code").value.trim(), verification_id: state.verificationId };
    await api("DELETE", "/profile/me/", body, { auth: true });
    forgetTokens();
    const gone = document.createElement("div");
    gone.className = "empty";
    gone.textContent = "This account is deleted.";
    $("profile").replaceChildren(gone);
    say("delete-status", "Account deleted: its phone can sign up again as a new account.", "ok");
  });
});

updateButtons();
