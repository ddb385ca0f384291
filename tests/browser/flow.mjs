// Drives the dev server's try-it page (`GET /`) through the whole flow in
// headless Chromium, once at a phone's size and once at a desktop's: a bad
// phone, then phone, code from the outbox, profile, someone else's invite
// code, token refresh, log out; then the inviter logs in on the page and
// sees both users among their referrals; last a user logs out everywhere
// and deletes their account; last, past the address's soft limit, the
// ALTCHA widget solves a challenge. Saves a screenshot of each size
// under SCREENSHOT_DIR and fails on any console error (a CSP violation among
// them).
//
//   BASE_URL=http://127.0.0.1:3000 node tests/browser/flow.mjs

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const screenshots = process.env.SCREENSHOT_DIR ?? "target/browser";

// Without the networking flags Chromium keeps calling Google's hosts, which
// a closed network refuses; the profile is new and empty for every run.
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const API_PATHS = ["/phone/", "/code/", "/profile/", "/token/", "/sessions/"];

const SCREENS = [
  {
    name: "phone",
    phone: "+79005550101",
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  },
  {
    name: "desktop",
    phone: "+79005550102",
    options: { viewport: { width: 1280, height: 900 } },
  },
];

async function call(method, path, body, access) {
  const headers = { "Content-Type": "application/json" };
  if (access) headers.Authorization = `Bearer ${access}`;
  const response = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

function codeIn(text) {
  const code = (text.match(/\d{4,8}/) || [])[0];
  assert.ok(code, `no code in ${JSON.stringify(text)}`);
  return code;
}

// The inviter signs up over the API, before the users of the page.
async function signUp(phone) {
  await call("POST", "/phone/", { phone });
  const outbox = await call("GET", `/dev/sms?phone=${encodeURIComponent(phone)}`);
  const code = codeIn(outbox.messages.at(-1).text);
  const login = await call("POST", "/code/", { phone, code });
  const profile = await call("GET", "/profile/me/", undefined, login.access);
  return { phone, access: login.access, invite: profile.invite };
}

// A page in a fresh Chromium profile at a screen's size, handed to `use`;
// fails when the page logged an error.
async function withPage(options, use) {
  const profileDir = mkdtempSync(join(tmpdir(), "phone-auth-chromium-"));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    args: FLAGS,
    ...options,
  });
  const problems = [];
  try {
    context.setDefaultTimeout(10_000);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      // Chromium logs every 4xx fetch; the API refusing a bad phone is the
      // point of a step, and the page shows it. Any other error counts.
      const { pathname } = new URL(message.location().url || base);
      const refusal = message.text().startsWith("Failed to load resource: the server responded with a status of 4");
      if (refusal && API_PATHS.some((path) => pathname.startsWith(path))) return;
      problems.push(`console: ${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    const response = await page.goto(`${base}/`);
    assert.equal(response.status(), 200);
    await page.getByRole("heading", { name: /phone-auth/ }).waitFor();
    const result = await use(page);
    assert.deepEqual(problems, [], "the page logged errors");
    return result;
  } finally {
    await context.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
}

const profileField = (page, name) => page.locator(`#profile dd[data-field="${name}"]`);

// Phone, the code from the outbox (typed, or taken with "Use code"), log in;
// answers what the page said.
async function logIn(page, phone, { typeCode }) {
  await page.getByLabel("Phone number").fill(phone);
  // The outbox grows by this send (a status line may be an older one's).
  const sent = await page.locator("#outbox li .text").count();
  await page.getByRole("button", { name: "Send code" }).click();
  await page.locator("#phone-status.ok", { hasText: "Verification code sent" }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll("#outbox li .text").length > n, sent);
  const sms = page.locator("#outbox li .text").first();
  await sms.waitFor();
  const code = codeIn(await sms.textContent());
  if (typeCode) {
    await page.getByLabel("Code from the SMS").fill(code);
  } else {
    await page.getByRole("button", { name: "Use code" }).first().click();
    assert.equal(await page.getByLabel("Code from the SMS").inputValue(), code);
  }
  await page.getByRole("button", { name: "Log in" }).click();
  const status = page.locator("#code-status.ok");
  await status.waitFor();
  await profileField(page, "Phone").filter({ hasText: phone }).waitFor();
  return status.textContent();
}

async function flow(screen, inviter) {
  return withPage(screen.options, async (page) => {
    const field = (name) => profileField(page, name);

    // A national number where no DEFAULT_REGION reads it: the hint, in place.
    await page.getByLabel("Phone number").fill("12345");
    await page.getByRole("button", { name: "Send code" }).click();
    await page.locator("#phone-status.error", { hasText: "+ and the country code" }).waitFor();
    assert.ok(await page.getByRole("button", { name: "Log in" }).isDisabled());

    const said = await logIn(page, screen.phone, { typeCode: screen.name === "phone" });
    assert.match(said, /created/);

    // Someone else's invite code (typed in lower case).
    assert.equal(await field("Activated code").textContent(), "none");
    await page.getByLabel("Someone else's invite code").fill(inviter.invite.toLowerCase());
    await page.getByRole("button", { name: "Activate" }).click();
    await page.locator("#invite-status.ok", { hasText: "activated" }).waitFor();
    assert.equal(await field("Activated code").textContent(), inviter.invite);
    assert.match(await field("Invited by").textContent(), new RegExp(`^\\${inviter.phone} `));

    // Refresh: new tokens, and the profile reads with the new access token.
    const before = await page.locator("#refresh-token").textContent();
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator("#tokens-status.ok", { hasText: "New tokens" }).waitFor();
    assert.notEqual(await page.locator("#refresh-token").textContent(), before);
    await page.getByRole("button", { name: "Reload" }).click();
    await page.locator("#last-request", { hasText: "GET /profile/me/ → 200" }).waitFor();

    // Tidy at this size: nothing wider than the screen.
    const overflow = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll("section, aside, input, button, pre, dl")]
        .filter((node) => node.getBoundingClientRect().right > width + 0.5)
        .map((node) => node.id || node.tagName.toLowerCase());
      return { scroll: document.documentElement.scrollWidth, width, wide };
    });
    assert.deepEqual(overflow.wide, [], `wider than the ${screen.name} screen`);
    assert.ok(overflow.scroll <= overflow.width, `scrolls sideways: ${JSON.stringify(overflow)}`);
    mkdirSync(screenshots, { recursive: true });
    const shot = join(screenshots, `try-it-${screen.name}.png`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot, fullPage: true });

    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.locator("#tokens-status.ok", { hasText: "Logged out" }).waitFor();
    assert.ok(await page.getByRole("button", { name: "Refresh" }).isDisabled());
    return shot;
  });
}

const inviter = await signUp("+79001112233");
const shots = [];
for (const screen of SCREENS) {
  shots.push(await flow(screen, inviter));
  console.log(`browser test: the whole flow works at ${screen.name} size`);
}
// Both page users show up on the inviter's profile, newest first: over the
// API, and on the page when the inviter logs in there.
const profile = await call("GET", "/profile/me/", undefined, inviter.access);
assert.deepEqual(
  profile.referrals.map((referral) => referral.phone),
  SCREENS.map((screen) => screen.phone).reverse(),
);
await withPage(SCREENS.at(-1).options, async (page) => {
  assert.match(await logIn(page, inviter.phone, { typeCode: false }), /Logged in as user/);
  assert.equal(await profileField(page, "Referrals").textContent(), String(SCREENS.length));
  const invited = await profileField(page, "Invited").locator("li").allTextContents();
  assert.deepEqual(
    invited.map((line) => line.split(" · ")[0]),
    SCREENS.map((screen) => screen.phone).reverse(),
  );
});
console.log("browser test: the inviter sees both referrals");

// Logging out everywhere, then deleting the account, on the page. A second
// session over the API shows that "everywhere" reached it.
const leaving = "+79005550103";
await call("POST", "/phone/", { phone: leaving });
const elsewhere = await call("POST", "/code/", {
  phone: leaving,
  code: codeIn((await call("GET", `/dev/sms?phone=${encodeURIComponent(leaving)}`)).messages.at(-1).text),
});
// A third session, from a tablet: logged out from the page's device list.
await call("POST", "/phone/", { phone: leaving });
const tablet = await (await fetch(`${base}/code/`, {
  method: "POST",
  headers: { "Content-Type": "application/json", "User-Agent": "Tablet/1.0" },
  body: JSON.stringify({
    phone: leaving,
    code: codeIn((await call("GET", `/dev/sms?phone=${encodeURIComponent(leaving)}`)).messages.at(-1).text),
  }),
})).json();
await withPage(SCREENS[0].options, async (page) => {
  assert.match(await logIn(page, leaving, { typeCode: false }), /Logged in as user/);
  await page.getByRole("button", { name: "Show my devices" }).click();
  await page.locator("#devices-status.ok", { hasText: "3 live session(s)" }).waitFor();
  assert.equal(await page.locator("#devices li", { hasText: "(this one)" }).count(), 1);
  await page.getByRole("button", { name: "Log out Tablet/1.0" }).click();
  await page.locator("#devices-status.ok", { hasText: "Logged out Tablet/1.0" }).waitFor();
  assert.equal(await page.locator("#devices li").count(), 2);
  const tabletRefresh = await fetch(`${base}/token/refresh/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh: tablet.refresh }),
  });
  assert.equal(tabletRefresh.status, 401, "the tablet's session ended");

  // Moving the account to a new number, and back.
  for (const [from, to] of [[leaving, "+79005550104"], ["+79005550104", leaving]]) {
    await page.getByLabel("Number to move to").fill(to);
    const before = await page.locator("#outbox li .text").count();
    await page.getByRole("button", { name: "Send a code to it" }).click();
    await page.locator("#move-status.ok", { hasText: `A code went to ${to}` }).waitFor();
    await page.waitForFunction((n) => document.querySelectorAll("#outbox li .text").length !== n, before);
    const moveSms = page.locator("#outbox li .text").first();
    await page.getByLabel("Code sent to the new number").fill(codeIn(await moveSms.textContent()));
    await page.getByRole("button", { name: "Move the account" }).click();
    await page.locator("#move-status.ok", { hasText: `The account is on ${to} now` }).waitFor();
    await profileField(page, "Phone").filter({ hasText: to }).waitFor();
    assert.notEqual(from, to);
  }

  await page.getByRole("button", { name: "Log out everywhere" }).click();
  await page.locator("#tokens-status.ok", { hasText: "Logged out everywhere" }).waitFor();
  const refused = await fetch(`${base}/token/refresh/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh: elsewhere.refresh }),
  });
  assert.equal(refused.status, 401, "the other session ended too");

  await logIn(page, leaving, { typeCode: false });
  const sent = await page.locator("#outbox li .text").count();
  await page.getByRole("button", { name: "Send a code for it" }).click();
  await page.locator("#delete-status.ok", { hasText: "A code went to" }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll("#outbox li .text").length > n, sent);
  const sms = page.locator("#outbox li .text").first();
  await page.getByLabel("Code for the deletion").fill(codeIn(await sms.textContent()));
  await page.getByRole("button", { name: "Delete account" }).click();
  await page.locator("#delete-status.ok", { hasText: "Account deleted" }).waitFor();
  await page.locator("#profile", { hasText: "This account is deleted." }).waitFor();
  assert.ok(await page.getByRole("button", { name: "Refresh" }).isDisabled());
});
const gone = await fetch(`${base}/profile/me/`, { headers: { Authorization: `Bearer ${elsewhere.access}` } });
assert.equal(gone.status, 404, "the account is gone");

// Past this address's soft limit a send needs a solved challenge: the page
// shows the ALTCHA widget, which solves it in a worker, and the send goes.
let asked = false;
for (let i = 0; i < 40 && !asked; i++) {
  const response = await fetch(`${base}/phone/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone: `+790055502${String(i).padStart(2, "0")}` }),
  });
  asked = (await response.json()).code === "challenge_required";
}
assert.ok(asked, "the soft limit asks for a challenge");
// In a Brazilian browser: the page sends its language, and the SMS is in
// Portuguese (the dev server has a `pt` template).
await withPage({ ...SCREENS.at(-1).options, locale: "pt-BR" }, async (page) => {
  const phone = "+79005550299";
  await page.getByLabel("Phone number").fill(phone);
  await page.getByRole("button", { name: "Send code" }).click();
  await page.locator("#challenge altcha-widget").waitFor();
  await page.locator("#phone-status.ok", { hasText: "Verification code sent" }).waitFor({ timeout: 30_000 });
  assert.ok(await page.locator("#challenge").isHidden(), "the widget goes once solved");
  const outbox = await call("GET", `/dev/sms?phone=${encodeURIComponent(phone)}`);
  assert.equal(outbox.messages.length, 1, "one SMS, after the challenge");
  assert.equal(outbox.messages[0].locale, "pt", "in the browser's language");
  assert.match(outbox.messages[0].text, /^Seu código é \d+/);
});
console.log("browser test: the ALTCHA widget solved a challenge and the code went out");
console.log(`browser test: passed; screenshots ${shots.join(", ")}`);
