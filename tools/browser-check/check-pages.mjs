// Opens HTML pages in headless Chromium and reports what a person would see go wrong:
// console errors and uncaught exceptions, SVGs drawn at zero size, and characters drawn as "tofu"
// (the missing-glyph box, because no installed font has them). Optionally saves a screenshot.
//
//   node check-pages.mjs [--chromium PATH] [--screenshot PAGE=PNG[@WIDTHxHEIGHT]]... PAGE.html...
//
// Prints one JSON object on stdout: { "chromium": version, "pages": [ { "path", "consoleErrors":
// [text], "svgs": [{ "index", "label", "width", "height" }], "glyphs": number of distinct (font,
// character) pairs checked, "tofu": [{ "char", "codepoint", "font", "context" }], "languages":
// { lang: { "chars", "scripts": { script: count } } } } ] }. Exit 0 when Chromium ran (the caller judges
// the findings), 2 on a usage or browser failure (message on stderr).
//
// Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated
// JSON on file descriptors 3 and 4), so no port and no npm package is needed.
//
// Tofu test: a character is drawn on a canvas in the font its element uses (computed font-family,
// weight and style, at 40 px) and compared pixel by pixel with two unassigned code points (U+0378,
// U+0380) drawn in the same font. No font has a glyph for those, so Chromium draws its missing-glyph
// box for them; a character whose bitmap equals that box was not found in any font either.
// Whitespace, control and format characters draw nothing and are skipped.
import { spawn } from "node:child_process";
import { mkdtempSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function usage(message) {
  process.stderr.write(`check-pages: ${message}\nusage: node check-pages.mjs [--chromium PATH] [--screenshot PAGE=PNG[@WxH]]... PAGE.html...\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let chromiumPath = process.env.CHROMIUM || "chromium";
const screenshots = new Map();
const pages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--chromium") chromiumPath = args[++i] ?? usage("--chromium needs a path");
  else if (args[i] === "--screenshot") {
    const m = /^(.+?)=(.+?)(?:@(\d+)x(\d+))?$/.exec(args[++i] ?? "");
    if (!m) usage("--screenshot needs PAGE=PNG[@WIDTHxHEIGHT]");
    screenshots.set(resolve(m[1]), { png: resolve(m[2]), width: Number(m[3] ?? 1100), height: Number(m[4] ?? 0) });
  } else if (args[i].startsWith("--")) usage(`unknown option ${args[i]}`);
  else pages.push(resolve(args[i]));
}
for (const page of screenshots.keys()) if (!pages.includes(page)) pages.push(page);
if (pages.length === 0) usage("no pages given");

// ---- the browser, over the DevTools pipe -------------------------------------------------------

const profile = mkdtempSync(join(tmpdir(), "lethe-chromium-"));
const browser = spawn(chromiumPath, [
  "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
  "--hide-scrollbars", "--force-color-profile=srgb", `--user-data-dir=${profile}`, "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
// Chromium runs in its own process group, so that its renderer and utility processes are killed with
// it: a child left alive kept writing into the profile, and removing the profile then failed
// (ENOTEMPTY) after every page had passed.
const killBrowser = () => {
  try { process.kill(-browser.pid, "SIGKILL"); } catch { try { browser.kill("SIGKILL"); } catch { /* already gone */ } }
};
// The profile is scratch: failing to remove it is reported, never a failed check. Chromium also
// makes a folder of its own in the temporary directory for its singleton socket, linked from the
// profile (SingletonSocket -> /tmp/org.chromium.Chromium.XXXXXX/SingletonSocket); it is removed too,
// or every run would leave one behind.
const removeProfile = () => {
  try {
    const socket = readlinkSync(join(profile, "SingletonSocket"));
    const folder = dirname(socket);
    if (basename(folder).startsWith("org.chromium.Chromium.") && dirname(folder) === tmpdir()) rmSync(folder, { recursive: true, force: true });
  } catch { /* no socket link: nothing of ours outside the profile */ }
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }); }
  catch (e) { process.stderr.write(`check-pages: could not remove the browser profile ${profile}: ${e.message}\n`); }
};
let browserLog = "";
browser.stderr.on("data", d => { browserLog = (browserLog + d).slice(-4000); });

let nextId = 1;
const pending = new Map();
const listeners = [];
let buffer = "";
const fail = message => {
  process.stderr.write(`check-pages: ${message}\n${browserLog ? "chromium said:\n" + browserLog : ""}\n`);
  killBrowser();
  removeProfile();
  process.exit(2);
};
browser.on("error", e => fail(`cannot start ${chromiumPath}: ${e.message}`));
let closing = false;
browser.on("exit", code => { if (!closing && pending.size > 0) fail(`chromium exited (code ${code}) with requests pending`); });
browser.stdio[4].on("data", chunk => {
  buffer += chunk.toString("utf8");
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const message = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (message.id !== undefined && pending.has(message.id)) {
      const { ok, ko, method } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) ko(new Error(`${method}: ${message.error.message}`));
      else ok(message.result);
    } else for (const l of listeners) l(message);
  }
});

function send(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  const message = { id, method, params };
  if (sessionId) message.sessionId = sessionId;
  return new Promise((ok, ko) => {
    pending.set(id, { ok, ko, method });
    browser.stdio[3].write(JSON.stringify(message) + "\0");
  });
}

function waitFor(predicate, ms, what) {
  return new Promise((ok, ko) => {
    const timer = setTimeout(() => { listeners.splice(listeners.indexOf(l), 1); ko(new Error(`timed out after ${ms} ms waiting for ${what}`)); }, ms);
    const l = m => { if (predicate(m)) { clearTimeout(timer); listeners.splice(listeners.indexOf(l), 1); ok(m); } };
    listeners.push(l);
  });
}

// ---- what runs inside each page ----------------------------------------------------------------

// A function evaluated in the page (as text): measures every SVG and tests every distinct
// (font, character) pair of the visible text for tofu; counts characters per language and script.
function inspectPage() {
  const svgs = [...document.querySelectorAll("svg")].map((s, index) => {
    const r = s.getBoundingClientRect();
    return { index, label: s.getAttribute("aria-label") || (s.querySelector("title")?.textContent ?? ""), width: r.width, height: r.height };
  });
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (font, text) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font;
    ctx.textBaseline = "middle";
    ctx.fillText(text, 8, 32);
    return { width: ctx.measureText(text).width, pixels: ctx.getImageData(0, 0, 64, 64).data };
  };
  const same = (a, b) => {
    if (Math.abs(a.width - b.width) > 0.01) return false;
    for (let i = 3; i < a.pixels.length; i += 4) if (a.pixels[i] !== b.pixels[i]) return false;
    return true;
  };
  const missing = new Map();   // font -> bitmaps of unassigned code points
  const checked = new Map();   // font + char -> tofu?
  const tofu = [];
  const languages = {};
  const skip = /[\p{White_Space}\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
  const scriptNames = ["Latin", "Arabic", "Han", "Devanagari", "Greek", "Cyrillic", "Hebrew", "Thai", "Hiragana", "Katakana", "Hangul"];
  const scriptRes = scriptNames.map(n => [n, new RegExp(`\\p{Script=${n}}`, "u")]);
  const walker = document.createTreeWalker(document.body ?? document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("title, script, style, desc, metadata")) continue;   // not drawn
    if (el.getClientRects().length === 0 && !(el instanceof SVGElement)) continue; // display: none
    const cs = getComputedStyle(el);
    const font = `${cs.fontStyle} ${cs.fontWeight} 40px ${cs.fontFamily}`;
    const lang = el.closest("[lang]")?.getAttribute("lang") ?? "";
    if (!missing.has(font)) missing.set(font, [draw(font, "\u0378"), draw(font, "\u0380")]);
    const langStats = (languages[lang] ??= { chars: 0, scripts: {} });
    for (const ch of node.data) {
      if (skip.test(ch)) continue;
      langStats.chars++;
      for (const [name, re] of scriptRes) if (re.test(ch)) { langStats.scripts[name] = (langStats.scripts[name] ?? 0) + 1; break; }
      const key = font + "\u0000" + ch;
      if (checked.has(key)) continue;
      const bitmap = draw(font, ch);
      const isTofu = missing.get(font).some(m => same(m, bitmap));
      checked.set(key, isTofu);
      if (isTofu) {
        const at = node.data.indexOf(ch);
        tofu.push({ char: ch, codepoint: "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0"), font: cs.fontFamily,
          context: node.data.slice(Math.max(0, at - 20), at + 20) });
      }
    }
  }
  return { svgs, glyphs: checked.size, tofu, languages };
}

// ---- main --------------------------------------------------------------------------------------

try {
  const version = await send("Browser.getVersion");
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const errors = [];
  listeners.push(m => {
    if (m.sessionId !== sessionId) return;
    if (m.method === "Runtime.consoleAPICalled" && (m.params.type === "error" || m.params.type === "assert"))
      errors.push("console." + m.params.type + ": " + m.params.args.map(a => a.value ?? a.description ?? "").join(" "));
    else if (m.method === "Runtime.exceptionThrown")
      errors.push("uncaught: " + (m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text));
    else if (m.method === "Log.entryAdded" && m.params.entry.level === "error")
      errors.push(`${m.params.entry.source}: ${m.params.entry.text}${m.params.entry.url ? " (" + m.params.entry.url + ")" : ""}`);
  });
  await send("Page.enable", {}, sessionId);
  await send("Runtime.enable", {}, sessionId);
  await send("Log.enable", {}, sessionId);

  const results = [];
  for (const path of pages) {
    errors.length = 0;
    const shot = screenshots.get(path);
    await send("Emulation.setDeviceMetricsOverride", { width: shot?.width ?? 1100, height: shot?.height || 900, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = waitFor(m => m.sessionId === sessionId && m.method === "Page.loadEventFired", 30000, `the load event of ${path}`);
    const nav = await send("Page.navigate", { url: pathToFileURL(path).href }, sessionId);
    if (nav.errorText) throw new Error(`cannot open ${path}: ${nav.errorText}`);
    await loaded;
    await send("Runtime.evaluate", { expression: "document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r(true))))", awaitPromise: true }, sessionId);
    const evaluated = await send("Runtime.evaluate", { expression: `(${inspectPage.toString()})()`, returnByValue: true, awaitPromise: true }, sessionId);
    if (evaluated.exceptionDetails) throw new Error(`inspecting ${path} failed: ${evaluated.exceptionDetails.exception?.description ?? evaluated.exceptionDetails.text}`);
    if (shot) {
      // Height 0: the whole page.
      const height = shot.height || Math.ceil((await send("Page.getLayoutMetrics", {}, sessionId)).cssContentSize.height);
      const { data } = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: shot.width, height, scale: 1 } }, sessionId);
      writeFileSync(shot.png + ".tmp", Buffer.from(data, "base64"));
      renameSync(shot.png + ".tmp", shot.png);
    }
    // Messages can trail the load event by a moment.
    await new Promise(r => setTimeout(r, 100));
    results.push({ path, consoleErrors: [...errors], ...evaluated.result.value });
  }
  process.stdout.write(JSON.stringify({ chromium: version.product, pages: results }, null, 1) + "\n");
  closing = true;
  await Promise.race([send("Browser.close").catch(() => {}), new Promise(r => setTimeout(r, 2000))]);
} catch (e) {
  fail(e.message);
}
const exited = browser.exitCode === null ? new Promise(r => browser.once("exit", r)) : null;
killBrowser();   // the group: the main process may be gone while its children are not
if (exited) await exited;
removeProfile();
