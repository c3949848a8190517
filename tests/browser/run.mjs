// Salama in a real browser: Debian's chromium driven by playwright-core.
//
//   node tests/browser/run.mjs http://127.0.0.1:PORT OUT_DIR
//
// Part 1 browses like a reporter in Tor Browser on "Safest": JavaScript
// OFF. For each language it starts at `/`, switches language through the
// links, chooses each harm in turn from the start page, makes the mistakes
// people make on that harm's form (nonsense and half-typed addresses, an
// account with no platform, nothing to go on) and checks each comes back
// with the message next to its field and everything typed kept, then fixes
// it, sends it and reads the receipt and the help for that harm. On every
// page: <html lang dir>, no <script>, no request to any other origin,
// weight < 30 KB, no sideways scrolling, touch targets >= 44 px, visible
// keyboard focus. It saves screenshots at 360x800 (a phone) and 1280x800
// into OUT_DIR.
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
const RECEIPT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;
const LANGS = ['ar', 'fr', 'en'];
const DEFAULT_LANG = 'ar'; // what `/` is in, with the default config
const HARMS = ['abuse-imagery', 'grooming', 'sextortion', 'other-harm'];

// The texts the server must show. Written out here on purpose: if a
// translation changes, this test should be updated by a person who read it.
const EXPECT = {
  ar: {
    notAddress: 'السطر 1 ليس عنوان صفحة.',
    scheme: 'يجب أن يبدأ السطر 2 بـ http:// أو https://',
    cut: 'العنوان في السطر 3 مقطوع',
    accountOrUrl: 'اذكر اسم حساب واحدًا أو عنوان صفحة واحدًا على الأقل، ليتمكن المحللون من العثور على هذا الشخص.',
    platformMissing: 'اختر التطبيق أو الموقع الذي توجد فيه هذه الحسابات.',
    accountInUrls: 'يبدو السطر 1 اسم حساب أو بريدًا إلكترونيًا أو رقم هاتف، لا عنوان صفحة.',
    stopReplying: 'توقف عن الرد.',
    doNotPay: 'لا تدفع شيئًا ولا ترسل المزيد.',
    description: 'رأيت هذا الرابط في مجموعة على تطبيق مراسلة، يوم 2 مارس. <b>لا أعرف</b> & "صاحب" الحساب',
    accounts: '@صياد_123\nsecond.account',
  },
  fr: {
    notAddress: 'La ligne 1 n’est pas une adresse web.',
    scheme: 'La ligne 2 doit commencer par http:// ou https://',
    cut: 'L’adresse de la ligne 3 est coupée',
    accountOrUrl: 'Indiquez au moins un nom de compte ou une adresse web, pour que les analystes puissent retrouver cette personne.',
    platformMissing: 'Choisissez l’application ou le site où se trouvent ces comptes.',
    accountInUrls: 'La ligne 1 ressemble à un nom de compte, une adresse e-mail ou un numéro de téléphone, pas à une adresse web.',
    stopReplying: 'Arrête de répondre.',
    doNotPay: 'Ne paie pas et n’envoie rien de plus.',
    description: 'Vu deux fois — lien partagé dans un groupe « privé ». <script>alert(1)</script> & "ça" سلام',
    accounts: '@prof_2009\nuser.name.14',
  },
  en: {
    notAddress: 'Line 1 is not a web address.',
    scheme: 'Line 2 must start with http:// or https://',
    cut: 'The address on line 3 is cut short',
    accountOrUrl: 'Give at least one account name or one web address, so the analysts can find this person.',
    platformMissing: 'Choose the app or website where these accounts are.',
    accountInUrls: 'Line 1 looks like an account name, an e-mail address or a phone number, not a web address.',
    stopReplying: 'Stop replying.',
    doNotPay: 'Do not pay and do not send anything more.',
    description: 'Seen twice in a group chat; the account is @someone <i>x</i> & "quotes" — سلام',
    accounts: '@someone_1\n+44 7700 900123',
  },
};
// What a reporter pastes into the address box, going wrong three ways:
// words, a lost first letter, an address an app showed cut short.
const JUNK_URLS = 'I do not know the address\nttps://example.com/page\nhttps://t.co/abc…';
const ONION = 'http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/x';

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

/** The checks a form page gets: its warning first, on the first screen. */
async function checkForm(page, lang, harm) {
  check(page.url() === `${BASE}/${lang}/report/${harm}`, `${lang}: the ${harm} form is at ${page.url()}`);
  check((await page.locator('#report-form').getAttribute('action')) === `/${lang}/report/${harm}`,
    `${lang}: the ${harm} form does not post to its own address`);
  const warn = await page.locator('.warning').boundingBox();
  const form = await page.locator('#report-form').boundingBox();
  check(warn && form && warn.y < form.y, `${lang}: ${harm}: the warning is not before the form`);
  check(warn && warn.y < PHONE.height - 60, `${lang}: ${harm}: the warning starts below the first 360x800 screen (y=${warn && warn.y})`);
  check((await page.locator(`a[href="/${lang}/follow-up"]`).count()) >= 2, `${lang}: ${harm}: no link to the follow-up page on the form and in the footer`);
}

/** After a 422: the message next to `field` says `text`, and is linked from the summary. */
async function checkError(page, lang, label, field, texts) {
  const err = page.locator(`.field:has(#${field}) #${field}-error, fieldset#${field} #${field}-error`);
  check((await err.count()) >= 1, `${label}: no #${field}-error inside the group of #${field}`);
  if (await err.count()) {
    const said = await err.first().innerText();
    for (const text of texts) check(said.includes(text), `${label}: #${field}-error says "${said}", expected "${text}"`);
  }
  const describedBy = (await page.locator(`#${field}`).getAttribute('aria-describedby')) || '';
  check(describedBy.split(' ').includes(`${field}-error`), `${label}: #${field} is not described by its error (${describedBy})`);
  check((await page.locator(`#problems a[href="#${field}"]`).count()) >= 1, `${label}: the error summary does not link to #${field}`);
  const summary = await page.locator('#problems').boundingBox();
  const form = await page.locator('#report-form').boundingBox();
  check(summary && form && summary.y < form.y, `${label}: the error summary is not above the form`);
}

/** The thank-you page: the receipt big on the first screen, the way back, and help that fits. */
async function checkThanks(page, resp, loads, lang, harm, guideText) {
  const label = `${lang}: thanks (${harm})`;
  await checkPage(page, resp, loads, { label, lang, status: 200 });
  const receipt = ((await page.locator('#receipt').textContent()) || '').trim();
  check(RECEIPT.test(receipt), `${label}: receipt "${receipt}" does not look like XXXX-XXXX-XXXX-XXXX`);
  const rbox = await page.locator('#receipt').boundingBox();
  check(rbox && rbox.y + rbox.height <= PHONE.height, `${label}: the receipt is not on the first 360x800 screen (y=${rbox && rbox.y})`);
  const fontPx = parseFloat(await page.locator('#receipt').evaluate((e) => getComputedStyle(e).fontSize));
  check(fontPx >= 24, `${label}: the receipt is small (${fontPx}px)`);
  check(rbox && rbox.height < 2 * fontPx, `${label}: the receipt wraps onto two lines (${rbox && rbox.height}px high at ${fontPx}px)`);
  check((await page.locator(`main a[href="/${lang}/follow-up"]`).count()) === 1, `${label}: no link to the follow-up page`);
  const guide = page.locator('.guide');
  if (guideText) {
    check((await guide.count()) === 1 && (await guide.innerText()).includes(guideText), `${label}: no guidance saying "${guideText}"`);
    check((await page.locator('.guide .site').count()) === 2, `${label}: the removal services are not named`);
    check((await page.locator('.guide a').count()) === 0, `${label}: the services are links, not text`);
  } else {
    check((await guide.count()) === 0, `${label}: guidance on a report that is not grooming or sextortion`);
  }
  await shoot(page, `${lang}-thanks-${harm}`);
  return receipt;
}

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
  const home = async () => navigate(page, loads, () => page.goto(`${BASE}/${lang}/`));
  /** From the start page, choose a harm by its link. */
  const choose = async (harm) => {
    await home();
    return navigate(page, loads, () => page.locator(`main a.harm[href="/${lang}/report/${harm}"]`).click());
  };
  const send = async () => navigate(page, loads, () => page.locator('button[type=submit]').click());
  const receipts = new Set();

  // `/`: the language choice, then pick this language by its link.
  let resp = await navigate(page, loads, () => page.goto(`${BASE}/`));
  await checkPage(page, resp, loads, { label: `${lang}: /`, lang: DEFAULT_LANG, status: 200 });
  if (lang === DEFAULT_LANG) await shoot(page, 'choose');
  resp = await navigate(page, loads, () => page.locator(`main a[hreflang="${lang}"]`).click());
  check(page.url() === `${BASE}/${lang}/`, `${lang}: the language link on / led to ${page.url()}`);
  await checkPage(page, resp, loads, { label: `${lang}: home`, lang, status: 200 });
  const harms = await page.locator('main a.harm').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  check(JSON.stringify(harms) === JSON.stringify(HARMS.map((h) => `/${lang}/report/${h}`)),
    `${lang}: the start page offers ${harms.join(', ')}`);
  check((await page.locator('form').count()) === 0, `${lang}: the start page asks for details before what happened`);
  await shoot(page, `${lang}-home`);
  await checkFocus(page, `${lang}-home`);

  // Switching language keeps the page: home → other language → back.
  const other = LANGS.find((l) => l !== lang);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${other}"]`).click());
  check(page.url() === `${BASE}/${other}/`, `${lang}: the header link to ${other} led to ${page.url()}`);
  check((await page.locator('html').getAttribute('lang')) === other, `${lang}: after switching, <html lang> is not ${other}`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${lang}"]`).click());
  check(page.url() === `${BASE}/${lang}/`, `${lang}: switching back led to ${page.url()}`);

  // The form's old address leads to the choice.
  resp = await navigate(page, loads, () => page.goto(`${BASE}/${lang}/report`));
  check(page.url() === `${BASE}/${lang}/`, `${lang}: the old /${lang}/report led to ${page.url()}`);

  // 1. Images: addresses are required (the browser stops an empty form,
  //    no JavaScript needed, nothing is sent); nonsense is answered line
  //    by line, everything kept; then a good report.
  resp = await choose('abuse-imagery');
  await checkPage(page, resp, loads, { label: `${lang}: form (abuse-imagery)`, lang, status: 200 });
  await checkForm(page, lang, 'abuse-imagery');
  await shoot(page, `${lang}-form-abuse-imagery`);
  await checkFocus(page, `${lang}-form-abuse-imagery`);
  posts.length = 0;
  await page.locator('#description').fill(t.description);
  await page.locator('button[type=submit]').click();
  await page.waitForTimeout(400);
  check(posts.length === 0 && page.url() === `${BASE}/${lang}/report/abuse-imagery`,
    `${lang}: an empty images form was sent (the required attribute did not stop it)`);
  await page.locator('#urls').fill(JUNK_URLS);
  await page.locator('#where_seen-messaging-app').check();
  resp = await send();
  let label = `${lang}: errors (abuse-imagery)`;
  await checkPage(page, resp, loads, { label, lang, status: 422 });
  check(page.url() === `${BASE}/${lang}/report/abuse-imagery`, `${label}: the form went to ${page.url()}`);
  await checkError(page, lang, label, 'urls', [t.notAddress, t.scheme, t.cut]);
  check((await page.locator('#urls').getAttribute('aria-invalid')) === 'true', `${label}: #urls is not aria-invalid`);
  check((await page.locator('#urls').inputValue()) === JUNK_URLS, `${label}: the typed addresses were not kept exactly`);
  check((await page.locator('#description').inputValue()) === t.description, `${label}: the typed description was not kept exactly`);
  check(await page.locator('#where_seen-messaging-app').isChecked(), `${label}: the chosen "where" was not kept`);
  await shoot(page, `${lang}-error-abuse-imagery`);
  await page.locator('#urls').fill(`https://example.com/a/page?id=1\n${ONION}`);
  await page.locator('#where_seen-social-network').check();
  resp = await send();
  receipts.add(await checkThanks(page, resp, loads, lang, 'abuse-imagery', null));

  // 2. Grooming: a platform but nothing to find the person by; then the
  //    accounts, as a teenager would have them, and no address at all.
  resp = await choose('grooming');
  await checkPage(page, resp, loads, { label: `${lang}: form (grooming)`, lang, status: 200 });
  await checkForm(page, lang, 'grooming');
  check((await page.locator('#where_seen').count()) === 0, `${lang}: grooming asks where it was seen`);
  await shoot(page, `${lang}-form-grooming`);
  await page.locator('#platform').selectOption('instagram');
  await page.locator('#description').fill(t.description);
  resp = await send();
  label = `${lang}: errors (grooming)`;
  await checkPage(page, resp, loads, { label, lang, status: 422 });
  await checkError(page, lang, label, 'accounts', [t.accountOrUrl]);
  check((await page.locator('#platform').inputValue()) === 'instagram', `${label}: the chosen platform was not kept`);
  check((await page.locator('#description').inputValue()) === t.description, `${label}: the description was not kept exactly`);
  await shoot(page, `${lang}-error-grooming`);
  await page.locator('#accounts').fill(t.accounts);
  resp = await send();
  receipts.add(await checkThanks(page, resp, loads, lang, 'grooming', t.stopReplying));

  // 3. Sextortion: an account put in the address box and none in its own,
  //    no platform; the text comes back, and the messages say where to
  //    put what. Then the platform ("other", named) and what was demanded.
  resp = await choose('sextortion');
  await checkPage(page, resp, loads, { label: `${lang}: form (sextortion)`, lang, status: 200 });
  await checkForm(page, lang, 'sextortion');
  await shoot(page, `${lang}-form-sextortion`);
  await checkFocus(page, `${lang}-form-sextortion`);
  await page.locator('#urls').fill('@threatening_acc');
  await page.locator('#money-yes').check();
  await page.locator('#images-unsure').check();
  resp = await send();
  label = `${lang}: errors (sextortion)`;
  await checkPage(page, resp, loads, { label, lang, status: 422 });
  await checkError(page, lang, label, 'urls', [t.accountInUrls]);
  check(await page.locator('#money-yes').isChecked() && await page.locator('#images-unsure').isChecked(), `${label}: the answers were not kept`);
  check((await page.locator('#urls').inputValue()) === '@threatening_acc', `${label}: the typed text was not kept`);
  await page.locator('#urls').fill('');
  await page.locator('#accounts').fill('@threatening_acc');
  resp = await send();
  label = `${lang}: errors (sextortion, no platform)`;
  await checkPage(page, resp, loads, { label, lang, status: 422 });
  await checkError(page, lang, label, 'platform', [t.platformMissing]);
  await shoot(page, `${lang}-error-sextortion`);
  await page.locator('#platform').selectOption('other');
  await page.locator('#platform_name').fill('Kik');
  resp = await send();
  receipts.add(await checkThanks(page, resp, loads, lang, 'sextortion', t.doNotPay));

  // 4. Other harm: an Arabic-script address with its Arabic comma, sent
  //    at the first go.
  resp = await choose('other-harm');
  await checkPage(page, resp, loads, { label: `${lang}: form (other-harm)`, lang, status: 200 });
  await checkForm(page, lang, 'other-harm');
  await page.locator('#urls').fill('موقع.المغرب/صفحة،');
  resp = await send();
  receipts.add(await checkThanks(page, resp, loads, lang, 'other-harm', null));
  check(receipts.size === 4, `${lang}: ${receipts.size} distinct receipts for 4 reports`);

  // 5. The other pages, reached by their links; switching language on
  //    "about" stays on "about", and on a form stays on that form.
  resp = await navigate(page, loads, () => page.locator(`footer a[href="/${lang}/about"]`).click());
  await checkPage(page, resp, loads, { label: `${lang}: about`, lang, status: 200 });
  await shoot(page, `${lang}-about`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${other}"]`).click());
  check(page.url() === `${BASE}/${other}/about`, `${lang}: switching language on about led to ${page.url()}`);
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${lang}"]`).click());
  resp = await navigate(page, loads, () => page.locator(`footer a[href="/${lang}/help"]`).click());
  await checkPage(page, resp, loads, { label: `${lang}: help`, lang, status: 200 });
  await shoot(page, `${lang}-help`);
  resp = await choose('grooming');
  resp = await navigate(page, loads, () => page.locator(`nav.langs a[hreflang="${other}"]`).click());
  check(page.url() === `${BASE}/${other}/report/grooming`, `${lang}: switching language on a form led to ${page.url()}`);
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
  const post = async (lang, harm, fill) => {
    await page.goto(`${BASE}/${lang}/report/${harm}`);
    await page.evaluate(() => { document.getElementById('report-form').noValidate = true; });
    await fill();
    await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
  };
  for (const lang of LANGS) {
    const t = EXPECT[lang];
    states.push({ name: `/${lang}/`, go: () => page.goto(`${BASE}/${lang}/`) });
    for (const harm of HARMS) {
      states.push({ name: `/${lang}/report/${harm}`, go: () => page.goto(`${BASE}/${lang}/report/${harm}`) });
    }
    states.push({ name: `/${lang}/about`, go: () => page.goto(`${BASE}/${lang}/about`) });
    states.push({ name: `/${lang}/help`, go: () => page.goto(`${BASE}/${lang}/help`) });
    states.push({ name: `/${lang}/nope (404)`, go: () => page.goto(`${BASE}/${lang}/nope`) });
    states.push({
      name: `POST /${lang}/report/abuse-imagery (errors)`,
      go: () => post(lang, 'abuse-imagery', async () => {
        await page.locator('#urls').fill(JUNK_URLS);
        await page.locator('#description').fill(t.description);
      }),
    });
    states.push({
      name: `POST /${lang}/report/sextortion (errors)`,
      go: () => post(lang, 'sextortion', async () => {
        await page.locator('#urls').fill('@threatening_acc');
        await page.locator('#accounts').fill(t.accounts);
        await page.locator('#money-yes').check();
      }),
    });
    states.push({
      name: `POST /${lang}/report/abuse-imagery (thanks)`,
      go: () => post(lang, 'abuse-imagery', async () => {
        await page.locator('#urls').fill('https://example.com/audit');
      }),
    });
    states.push({
      name: `POST /${lang}/report/grooming (thanks, with guidance)`,
      go: () => post(lang, 'grooming', async () => {
        await page.locator('#platform').selectOption('snapchat');
        await page.locator('#accounts').fill(t.accounts);
      }),
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
