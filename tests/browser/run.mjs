// Salama in a real browser: Debian's chromium driven by playwright-core.
//
//   node tests/browser/run.mjs http://127.0.0.1:PORT OUT_DIR
//
// Part 1 browses like a reporter in Tor Browser on "Safest": JavaScript
// OFF. For each language it starts at `/`, switches language through the
// links, sends a valid report and reads the receipt, sends invalid ones and
// reads the errors, and checks on every page: <html lang dir>, no <script>,
// no request to any other origin, weight < 30 KB, no sideways scrolling,
// touch targets >= 44 px, visible keyboard focus. It saves screenshots at
// 360x800 (a phone) and 1280x800 into OUT_DIR.
//
// Part 2 audits every page and state with axe-core and fails on any
// violation of impact "serious" or "critical".
//
// Exit status: 0 if every check passed, 1 if any failed (each failure is
// printed as "FAIL: ..."), 2 if the run itself broke.
//
// It never downloads anything: the browser is /usr/bin/chromium (Debian's
// chromium package), and the machine running it may have no internet.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = require('axe-core').source;

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node run.mjs BASE_URL OUT_DIR   (e.g. http://127.0.0.1:8080 target/browser-artifacts)');
  process.exit(2);
}
const BASE = base.replace(/\/+$/, '');
const ORIGIN = new URL(BASE).origin;
mkdirSync(outDir, { recursive: true });

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const PHONE = { width: 360, height: 800 };
const DESKTOP = { width: 1280, height: 800 };
const MAX_PAGE_BYTES = 30 * 1024;
const MIN_TARGET_PX = 44;
const RECEIPT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;
const LANGS = ['ar', 'fr', 'en'];
const DEFAULT_LANG = 'ar'; // what `/` is in, with the default config

// The texts the server must show. Written out here on purpose: if a
// translation changes, this test should be updated by a person who read it.
const EXPECT = {
  ar: {
    scheme: 'يجب أن يبدأ السطر 1 بـ http:// أو https://',
    urlMissing: 'أدخل عنوان صفحة واحدًا على الأقل.',
    categoryMissing: 'اختر ما رأيته.',
    description: 'رأيت هذا الرابط في مجموعة على تطبيق مراسلة، يوم 2 مارس. <b>لا أعرف</b> & "صاحب" الحساب',
  },
  fr: {
    scheme: 'La ligne 1 doit commencer par http:// ou https://',
    urlMissing: 'Indiquez au moins une adresse web.',
    categoryMissing: 'Choisissez ce que vous avez vu.',
    description: 'Vu deux fois — lien partagé dans un groupe « privé ». <script>alert(1)</script> & "ça" سلام',
  },
  en: {
    scheme: 'Line 1 must start with http:// or https://',
    urlMissing: 'Enter at least one web address.',
    categoryMissing: 'Choose what you saw.',
    description: 'Seen twice in a group chat; the account is @someone <i>x</i> & "quotes" — سلام',
  },
};

// ---------------------------------------------------------------------------
// Reporting

const failures = [];
let checks = 0;
function check(ok, what) {
  checks += 1;
  if (!ok) {
    failures.push(what);
    console.log(`FAIL: ${what}`);
  }
  return ok;
}
const screenshots = [];

// ---------------------------------------------------------------------------
// Helpers

/** Collects what one navigation fetched, to weigh it. */
class Loads {
  constructor(page) {
    this.responses = [];
    page.on('response', (r) => this.responses.push(r));
  }
  reset() { this.responses = []; }
  async weigh() {
    let total = 0;
    const parts = [];
    for (const r of this.responses) {
      const s = r.status();
      if (s >= 300 && s < 400) continue; // redirects have no body to weigh
      const n = (await r.body().catch(() => Buffer.alloc(0))).length;
      total += n;
      parts.push(`${new URL(r.url()).pathname}=${n}`);
    }
    return { total, parts };
  }
}

/** Every request the browser makes must go to the server under test. */
function watchOrigins(context, offenders) {
  context.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('data:') || u === 'about:blank') {
      offenders.push(`${r.method()} ${u.slice(0, 60)}`);
      return;
    }
    if (new URL(u).origin !== ORIGIN) offenders.push(`${r.method()} ${u}`);
  });
}

/** Navigate by doing `action` (a click or a goto) and wait for the page. */
async function navigate(page, loads, action) {
  loads.reset();
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    action(),
  ]);
  return resp;
}

async function shoot(page, name) {
  for (const vp of [PHONE, DESKTOP]) {
    await page.setViewportSize(vp);
    const file = path.join(outDir, `${name}-${vp.width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    screenshots.push(file);
  }
  await page.setViewportSize(PHONE);
}

/** The checks every page gets, whatever it is. */
async function checkPage(page, resp, loads, { label, lang, status }) {
  check(resp !== null, `${label}: no response`);
  if (!resp) return;
  check(resp.status() === status, `${label}: status ${resp.status()}, expected ${status}`);
  const html = await resp.text();
  const h = resp.headers();
  check((h['content-security-policy'] || '').includes("default-src 'none'"), `${label}: no CSP default-src 'none'`);
  check(!/<script/i.test(html), `${label}: the HTML contains <script`);
  check((await page.locator('script, iframe, object, embed, img, video, audio').count()) === 0,
    `${label}: the page has script/iframe/object/embed/img/media elements`);
  const handlers = await page.evaluate(() =>
    [...document.querySelectorAll('*')].flatMap((e) =>
      [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName}[${a.name}]`)));
  check(handlers.length === 0, `${label}: inline event handlers ${handlers.join(', ')}`);

  const htmlEl = page.locator('html');
  check((await htmlEl.getAttribute('lang')) === lang, `${label}: <html lang> is ${await htmlEl.getAttribute('lang')}, expected ${lang}`);
  const dir = lang === 'ar' ? 'rtl' : 'ltr';
  check((await htmlEl.getAttribute('dir')) === dir, `${label}: <html dir> is ${await htmlEl.getAttribute('dir')}, expected ${dir}`);
  check((await page.locator('h1').count()) === 1, `${label}: expected exactly one <h1>`);
  check((await page.locator('main#main').count()) === 1, `${label}: expected one <main id=main>`);

  const { total, parts } = await loads.weigh();
  check(total < MAX_PAGE_BYTES, `${label}: weighs ${total} bytes (${parts.join(', ')}), limit ${MAX_PAGE_BYTES}`);
  check(parts.some((p) => p.startsWith('/static/style.css=')), `${label}: the stylesheet was not loaded`);
  weights.set(label, total);

  // Layout on a 360 px phone: no sideways scrolling, big targets, the
  // "Leave quickly" link on the first screen.
  await page.setViewportSize(PHONE);
  const overflow = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > w + 1 || r.left < -1) && !e.matches('.skip'); })
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).replace(/ /g, '.') : ''}`);
    return { scroll: document.documentElement.scrollWidth, w, wide: wide.slice(0, 5) };
  });
  check(overflow.scroll <= overflow.w && overflow.wide.length === 0,
    `${label}: overflows sideways at 360 px (scrollWidth ${overflow.scroll} > ${overflow.w}; ${overflow.wide.join(', ')})`);
  const small = await page.evaluate((min) =>
    [...document.querySelectorAll('a, button, textarea, input, select, label')]
      .filter((e) => !e.matches('.skip'))
      // A label is a target only where it stands in for a small control.
      .filter((e) => !e.matches('label') || (e.control && e.control.matches('input[type=radio], input[type=checkbox]')))
      .filter((e) => !(e.matches('input[type=radio], input[type=checkbox]') && e.labels && e.labels.length))
      .map((e) => ({ e, r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.height < min - 0.5 || r.width < min - 0.5))
      .map(({ e, r }) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''} "${(e.textContent || '').trim().slice(0, 24)}" ${Math.round(r.width)}x${Math.round(r.height)}`),
  MIN_TARGET_PX);
  check(small.length === 0, `${label}: touch targets smaller than ${MIN_TARGET_PX} px at 360 px: ${small.join('; ')}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  const leave = await page.locator('a.leave').boundingBox();
  check(leave && leave.y >= 0 && leave.y + leave.height <= 160,
    `${label}: "Leave quickly" is not at the top of the first screen (${JSON.stringify(leave)})`);
}

/** Tab through the page; every stop must show a visible focus indicator. */
async function checkFocus(page, label) {
  await page.evaluate(() => { window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); });
  const seen = [];
  const names = [];
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const s = getComputedStyle(e);
      const r = e.getBoundingClientRect();
      const nth = [...document.querySelectorAll('*')].indexOf(e);
      return {
        key: nth,
        name: `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + e.className : ''} "${(e.textContent || '').trim().slice(0, 20)}"`,
        outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
        shadow: s.boxShadow !== 'none',
        onScreen: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
      };
    });
    if (!f) break;
    if (seen.includes(f.key)) break;
    seen.push(f.key);
    names.push(f.name);
    check(f.outline || f.shadow, `${label}: keyboard focus on ${f.name} is not visible`);
    check(f.onScreen, `${label}: keyboard focus on ${f.name} is off screen`);
    if (i === 0) {
      // The first stop is the skip link; show it, it only appears on focus.
      const file = path.join(outDir, `${label.replace(/[^a-z0-9]+/gi, '-')}-focus-360.png`);
      await page.screenshot({ path: file });
      screenshots.push(file);
    }
  }
  check(seen.length >= 8, `${label}: only ${seen.length} keyboard stops (${names.join(', ')})`);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
}

const weights = new Map();

// ---------------------------------------------------------------------------
// Part 1: a reporter with JavaScript disabled

async function reporter(browser, lang) {
  const t = EXPECT[lang];
  const offenders = [];
  // javaScriptEnabled: false is what Tor Browser's "Safest" level does.
  // (Playwright's own page.evaluate still works: it runs from outside the
  // page over the DevTools protocol, not as a page script.)
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: PHONE, locale: lang });
  context.setDefaultTimeout(15000);
  watchOrigins(context, offenders);
  const page = await context.newPage();
  const loads = new Loads(page);
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });

  // `/`: the language choice, then pick this language by its link.
  let resp = await navigate(page, loads, () => page.goto(`${BASE}/`));
  await checkPage(page, resp, loads, { label: `${lang}: /`, lang: DEFAULT_LANG, status: 200 });
  if (lang === DEFAULT_LANG) await shoot(page, 'choose');
  resp = await navigate(page, loads, () => page.locator(`main a[hreflang="${lang}"]`).click());
  check(page.url() === `${BASE}/${lang}/`, `${lang}: the language link on / led to ${page.url()}`);
  await checkPage(page, resp, loads, { label: `${lang}: home`, lang, status: 200 });

  // The warning comes before the form and is on the first screen.
  const warn = await page.locator('.warning').boundingBox();
  const form = await page.locator('#report-form').boundingBox();
  check(warn && form && warn.y < form.y, `${lang}: the never-download warning is not before the form`);
  check(warn && warn.y < PHONE.height - 60, `${lang}: the never-download warning starts below the first 360x800 screen (y=${warn && warn.y})`);
  await shoot(page, `${lang}-home`);
  await checkFocus(page, `${lang}-home`);

  // Switching language keeps the page: home → other language → back.
  const other = LANGS.find((l) => l !== lang);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${other}"]`).click());
  check(page.url() === `${BASE}/${other}/`, `${lang}: the header link to ${other} led to ${page.url()}`);
  check((await page.locator('html').getAttribute('lang')) === other, `${lang}: after switching, <html lang> is not ${other}`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${lang}"]`).click());
  check(page.url() === `${BASE}/${lang}/`, `${lang}: switching back led to ${page.url()}`);

  // 1. Empty web addresses: the browser's own check stops the form, no
  //    JavaScript needed, nothing is sent.
  posts.length = 0;
  await page.locator('#description').fill(t.description);
  await page.locator('button[type=submit]').click();
  await page.waitForTimeout(400);
  check(posts.length === 0 && page.url() === `${BASE}/${lang}/`,
    `${lang}: an empty form was sent (the required attributes did not stop it)`);

  // 2. A web address that is not http(s): the server's check, 422, the
  //    message next to the field, everything typed kept.
  await page.locator('#urls').fill('ftp://example.com/file');
  await page.locator('#category-grooming').check();
  await page.locator('#where_seen-messaging-app').check();
  resp = await navigate(page, loads, () => page.locator('button[type=submit]').click());
  await checkPage(page, resp, loads, { label: `${lang}: bad URL`, lang, status: 422 });
  const urlErr = page.locator('.field:has(#urls) #urls-error');
  check((await urlErr.count()) === 1, `${lang}: no #urls-error next to the URL field`);
  if (await urlErr.count()) {
    check((await urlErr.innerText()).includes(t.scheme), `${lang}: #urls-error says "${await urlErr.innerText()}", expected "${t.scheme}"`);
  }
  check((await page.locator('#urls').getAttribute('aria-describedby')) === 'urls-hint urls-error', `${lang}: #urls is not described by its hint and error`);
  check((await page.locator('#urls').getAttribute('aria-invalid')) === 'true', `${lang}: #urls is not aria-invalid`);
  check((await page.locator('#urls').inputValue()) === 'ftp://example.com/file', `${lang}: the typed URL was not kept`);
  check((await page.locator('#description').inputValue()) === t.description, `${lang}: the typed description was not kept exactly`);
  check(await page.locator('#category-grooming').isChecked(), `${lang}: the chosen category was not kept`);
  check(await page.locator('#where_seen-messaging-app').isChecked(), `${lang}: the chosen "where" was not kept`);
  check((await page.locator('#problems a[href="#urls"]').count()) === 1, `${lang}: the error summary does not link to #urls`);

  // 3. Nothing filled in, as a browser without form checks would send it.
  //    (Only the test harness sets noValidate; the page itself has no JS.)
  resp = await navigate(page, loads, () => page.goto(`${BASE}/${lang}/`));
  await page.evaluate(() => { document.getElementById('report-form').noValidate = true; });
  await page.locator('#description').fill(t.description);
  resp = await navigate(page, loads, () => page.locator('button[type=submit]').click());
  await checkPage(page, resp, loads, { label: `${lang}: empty form`, lang, status: 422 });
  for (const [id, text, field] of [['urls-error', t.urlMissing, '#urls'], ['category-error', t.categoryMissing, '#category']]) {
    const e = page.locator(`#${id}`);
    check((await e.count()) === 1 && (await e.innerText()).trim() === text, `${lang}: #${id} should say "${text}"`);
    // "Next to the field": inside the same group, and just above the input.
    const inField = await page.locator(`.field:has(#${id})`).evaluate((f, sel) => f.matches(sel) || !!f.querySelector(sel), field).catch(() => false);
    check(inField, `${lang}: #${id} is not inside the group of ${field}`);
  }
  check((await page.locator('#description').inputValue()) === t.description, `${lang}: the typed description was not kept exactly (empty form)`);
  const summary = await page.locator('#problems').boundingBox();
  check(summary && summary.y < (await page.locator('#report-form').boundingBox()).y, `${lang}: the error summary is not above the form`);
  await shoot(page, `${lang}-error`);

  // 4. A good report: two addresses, a category, where, and a description
  //    in two scripts. The thank-you page shows the receipt.
  resp = await navigate(page, loads, () => page.goto(`${BASE}/${lang}/`));
  await page.locator('#urls').fill('https://example.com/a/page?id=1\nhttp://exampleabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnop.onion/x');
  await page.locator('#category-abuse-imagery').check();
  await page.locator('#where_seen-social-network').check();
  await page.locator('#description').fill(t.description);
  resp = await navigate(page, loads, () => page.locator('button[type=submit]').click());
  await checkPage(page, resp, loads, { label: `${lang}: thanks`, lang, status: 200 });
  check(page.url() === `${BASE}/${lang}/report`, `${lang}: the form went to ${page.url()}`);
  const receipt = ((await page.locator('#receipt').textContent()) || '').trim();
  check(RECEIPT.test(receipt), `${lang}: receipt "${receipt}" does not look like XXXX-XXXX-XXXX`);
  const rbox = await page.locator('#receipt').boundingBox();
  check(rbox && rbox.y + rbox.height <= PHONE.height, `${lang}: the receipt is not on the first 360x800 screen (y=${rbox && rbox.y})`);
  const fontPx = parseFloat(await page.locator('#receipt').evaluate((e) => getComputedStyle(e).fontSize));
  check(fontPx >= 24, `${lang}: the receipt is small (${fontPx}px)`);
  await shoot(page, `${lang}-thanks`);

  // 5. The other pages, reached by their links; switching language on
  //    "about" stays on "about".
  resp = await navigate(page, loads, () => page.locator(`footer a[href="/${lang}/about"]`).click());
  await checkPage(page, resp, loads, { label: `${lang}: about`, lang, status: 200 });
  await shoot(page, `${lang}-about`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${other}"]`).click());
  check(page.url() === `${BASE}/${other}/about`, `${lang}: switching language on about led to ${page.url()}`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${lang}"]`).click());
  resp = await navigate(page, loads, () => page.locator(`footer a[href="/${lang}/help"]`).click());
  await checkPage(page, resp, loads, { label: `${lang}: help`, lang, status: 200 });
  await shoot(page, `${lang}-help`);
  resp = await navigate(page, loads, () => page.goto(`${BASE}/${lang}/no-such-page`));
  await checkPage(page, resp, loads, { label: `${lang}: 404`, lang, status: 404 });
  await shoot(page, `${lang}-notfound`);

  check(offenders.length === 0, `${lang}: requests to other origins: ${offenders.join(', ')}`);
  await context.close();
}

// ---------------------------------------------------------------------------
// Part 2: axe-core

const auditRows = [];

async function audit(browser) {
  // axe runs inside the page, so this context (and only this one) enables
  // JavaScript. The pages' CSP (`default-src 'none'`) rightly forbids any
  // script, including the one we inject, so the audit context bypasses
  // CSP. The pages were already checked above, with JavaScript off and CSP
  // on, to contain no script of their own.
  const context = await browser.newContext({ javaScriptEnabled: true, bypassCSP: true, viewport: PHONE });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();

  const states = [{ name: '/', go: () => page.goto(`${BASE}/`) }];
  for (const lang of LANGS) {
    states.push({ name: `/${lang}/`, go: () => page.goto(`${BASE}/${lang}/`) });
    states.push({ name: `/${lang}/about`, go: () => page.goto(`${BASE}/${lang}/about`) });
    states.push({ name: `/${lang}/help`, go: () => page.goto(`${BASE}/${lang}/help`) });
    states.push({ name: `/${lang}/nope (404)`, go: () => page.goto(`${BASE}/${lang}/nope`) });
    states.push({
      name: `POST /${lang}/report (errors)`,
      go: async () => {
        await page.goto(`${BASE}/${lang}/`);
        await page.evaluate(() => { document.getElementById('report-form').noValidate = true; });
        await page.locator('#urls').fill('ftp://example.com/x\nnot an address');
        await page.locator('#description').fill(EXPECT[lang].description);
        await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
      },
    });
    states.push({
      name: `POST /${lang}/report (thanks)`,
      go: async () => {
        await page.goto(`${BASE}/${lang}/`);
        await page.locator('#urls').fill('https://example.com/audit');
        await page.locator('#category-other-harm').check();
        await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
      },
    });
  }

  for (const vp of [PHONE, DESKTOP]) {
    await page.setViewportSize(vp);
    for (const s of states) {
      await s.go();
      await page.addScriptTag({ content: AXE_SOURCE });
      const result = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
        resultTypes: ['violations'],
      }));
      const where = `${s.name} @${vp.width}`;
      auditRows.push({ where, violations: result.violations, review: result.incomplete.map((v) => v.id) });
      for (const v of result.violations) {
        const targets = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
        const line = `axe ${v.impact} ${v.id} on ${where}: ${v.help} (${v.nodes.length} node(s): ${targets})`;
        if (v.impact === 'serious' || v.impact === 'critical') check(false, line);
        else console.log(`warn: ${line}`);
      }
    }
  }
  await context.close();
}

// ---------------------------------------------------------------------------

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
  try {
    for (const lang of LANGS) await reporter(browser, lang);
    await audit(browser);
  } finally {
    await browser.close();
  }

  console.log('\n== page weights (HTML + CSS, bytes) ==');
  for (const [label, n] of weights) console.log(`  ${String(n).padStart(6)}  ${label}`);
  console.log('\n== axe-core ==');
  const byImpact = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  for (const row of auditRows) {
    for (const v of row.violations) byImpact[v.impact] = (byImpact[v.impact] || 0) + 1;
  }
  console.log(`  ${auditRows.length} page states audited; violations by impact: ${JSON.stringify(byImpact)}`);
  const review = [...new Set(auditRows.flatMap((r) => r.review))];
  if (review.length) console.log(`  axe could not decide (check by eye): ${review.join(', ')}`);
  for (const row of auditRows) {
    if (row.violations.length) console.log(`  ${row.where}: ${row.violations.map((v) => `${v.id}(${v.impact})`).join(', ')}`);
  }
  console.log(`\n== ${screenshots.length} screenshots in ${outDir} ==`);
  console.log(`\n${checks} checks, ${failures.length} failed`);
  if (failures.length) {
    console.log('\nFAILED:');
    for (const f of failures) console.log(`  - ${f}`);
    process.exit(1);
  }
  console.log('browser tests: OK');
}

main().catch((e) => {
  console.error(`browser tests could not run: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
