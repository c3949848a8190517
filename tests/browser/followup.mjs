// The follow-up loop in a real browser: Debian's chromium, JavaScript OFF
// (Tor Browser "Safest"), on a 360 px phone. Driven by tests/browser.rs in
// two phases around what the analysts do offline:
//
//   node followup.mjs report BASE OUT
//     files a sextortion report in Arabic through the forms and prints
//     `RECEIPT <code>` (the test then exports, opens, answers, imports);
//   node followup.mjs answer BASE OUT RECEIPT WORDS
//     types the receipt as a person would (lower case, spaces), reads the
//     status, the canned reply and the analyst's WORDS in Arabic, right to
//     left; a garbled code gets the "no news" page; adds information (a
//     cut code first, kept and corrected), and reads the acknowledgement.
//     Then audits every follow-up page state with axe-core in ar/fr/en.
//
// Every page: <html lang dir>, no script, nothing from another origin,
// under 30 KB with its stylesheet. Exit 0 when every check passed, 1 when
// one failed ("FAIL: ..."), 2 when the run itself broke.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = require('axe-core').source;

const [phase, base, outDir, receiptArg, wordsArg] = process.argv.slice(2);
if (!['report', 'answer'].includes(phase) || !base || !outDir || (phase === 'answer' && !(receiptArg && wordsArg))) {
  console.error('usage: node followup.mjs report BASE OUT | answer BASE OUT RECEIPT WORDS');
  process.exit(2);
}
const BASE = base.replace(/\/+$/, '');
const ORIGIN = new URL(BASE).origin;
mkdirSync(outDir, { recursive: true });
const PHONE = { width: 360, height: 800 };
const MAX_PAGE_BYTES = 30 * 1024;
const RECEIPT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;

// Written out on purpose: a change of wording should be read by a person.
const AR = {
  actionTaken: 'اتُّخذ إجراء',
  removed: 'أُزيل المحتوى الذي أبلغت عنه',
  noNews: 'وصل: لا جديد بعد',
  receiptBad: 'هذا ليس رمز إيصال كاملًا',
  added: 'شكرًا لك. وصلت معلوماتك.',
  addSubmit: 'أرسل هذه المعلومات',
};

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

async function browserContext(browser, javaScriptEnabled) {
  const context = await browser.newContext({ javaScriptEnabled, bypassCSP: javaScriptEnabled, viewport: PHONE });
  context.setDefaultTimeout(15000);
  const offenders = [];
  context.on('request', (r) => {
    if (new URL(r.url()).origin !== ORIGIN) offenders.push(`${r.method()} ${r.url()}`);
  });
  return { context, offenders };
}

/** Navigate by `action`; check the page and return its response. */
async function go(page, label, lang, status, action) {
  const bodies = [];
  const onResponse = (r) => bodies.push(r);
  page.on('response', onResponse);
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
  page.off('response', onResponse);
  check(resp && resp.status() === status, `${label}: status ${resp && resp.status()}, expected ${status}`);
  let weight = 0;
  for (const r of bodies) {
    if (r.status() >= 300 && r.status() < 400) continue;
    weight += (await r.body().catch(() => Buffer.alloc(0))).length;
  }
  check(weight < MAX_PAGE_BYTES, `${label}: weighs ${weight} bytes with its stylesheet (limit ${MAX_PAGE_BYTES})`);
  check(!page.url().includes('receipt') && !/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/i.test(page.url()), `${label}: the code is in the URL ${page.url()}`);
  const html = page.locator('html');
  check((await html.getAttribute('lang')) === lang, `${label}: <html lang> is not ${lang}`);
  check((await html.getAttribute('dir')) === (lang === 'ar' ? 'rtl' : 'ltr'), `${label}: <html dir> is wrong`);
  check((await page.locator('script').count()) === 0, `${label}: the page has a script`);
  console.log(`  ${String(weight).padStart(6)}  ${label}`);
  return resp;
}

async function shoot(page, name) {
  await page.screenshot({ path: path.join(outDir, `followup-${name}-360.png`), fullPage: true });
}

async function report(browser) {
  const { context, offenders } = await browserContext(browser, false);
  const page = await context.newPage();
  await go(page, 'ar: home', 'ar', 200, () => page.goto(`${BASE}/ar/`));
  await go(page, 'ar: sextortion form', 'ar', 200, () => page.locator('main a.harm[href="/ar/report/sextortion"]').click());
  await page.locator('#platform').selectOption('instagram');
  await page.locator('#accounts').fill('@مبتز_٢٠٢٦');
  await page.locator('#money-yes').check();
  await page.locator('#description').fill('يهددني بنشر صوري إن لم أدفع.');
  await go(page, 'ar: thanks', 'ar', 200, () => page.locator('button[type=submit]').click());
  const receipt = ((await page.locator('#receipt').textContent()) || '').trim();
  check(RECEIPT.test(receipt), `the thank-you page shows "${receipt}"`);
  check((await page.locator('main a[href="/ar/follow-up"]').count()) === 1, 'the thank-you page does not link the follow-up page');
  check(offenders.length === 0, `requests to other origins: ${offenders.join(', ')}`);
  await context.close();
  console.log(`RECEIPT ${receipt}`);
}

async function answer(browser, receipt, words) {
  const { context, offenders } = await browserContext(browser, false);
  const page = await context.newPage();
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });

  // From the footer of the start page to the follow-up form.
  await go(page, 'ar: home', 'ar', 200, () => page.goto(`${BASE}/ar/`));
  await go(page, 'ar: follow-up form', 'ar', 200, () => page.locator('footer a[href="/ar/follow-up"]').click());
  check((await page.locator('#followup-form').getAttribute('method')) === 'post', 'the receipt form is not POST');
  await shoot(page, 'form');

  // A garbled code: the same "no news" page, never an error.
  await page.locator('#receipt').fill(receipt.slice(0, 12));
  await go(page, 'ar: garbled code', 'ar', 200, () => page.locator('#followup-form button[type=submit]').click());
  check(((await page.locator('#status-text').textContent()) || '').trim() === AR.noNews, 'a garbled code does not get "no news"');
  check((await page.locator('#reply').count()) === 0, 'a garbled code shows a reply');

  // The real code, typed as on a phone: lower case, spaces instead of dashes.
  await go(page, 'ar: follow-up form again', 'ar', 200, () => page.goto(`${BASE}/ar/follow-up`));
  await page.locator('#receipt').fill(receipt.toLowerCase().replaceAll('-', ' '));
  await go(page, 'ar: the answer', 'ar', 200, () => page.locator('#followup-form button[type=submit]').click());
  check(((await page.locator('#receipt-code').textContent()) || '').trim() === receipt, 'the answer page does not show the code in its canonical form');
  check(((await page.locator('#status-text').textContent()) || '').trim() === AR.actionTaken, 'the status is not "action taken" in Arabic');
  check(((await page.locator('#reply').textContent()) || '').includes(AR.removed), 'the canned reply is not shown in Arabic');
  const text = (await page.locator('#answer-text').innerText()) || '';
  check(text.includes(words), `the analyst's words are not shown as written: "${text}"`);
  check((await page.locator('#answer-text b').count()) === 0, 'the analyst\'s text was rendered as markup');
  const dir = await page.locator('#answer-text').evaluate((e) => getComputedStyle(e).direction);
  check(dir === 'rtl', `the analyst's Arabic text runs ${dir}`);
  const status = await page.locator('#status').boundingBox();
  const main = await page.locator('main').boundingBox();
  check(status && main && status.x + status.width > main.x + main.width - 40, 'the status box does not start on the right (RTL)');
  await shoot(page, 'answer');

  // Add information: with the code cut short first (a hand-made form or
  // an old page), then corrected; everything typed is kept.
  const account = '@حساب_آخر_99';
  await page.locator('#add-form #accounts').fill(account);
  await page.locator('#add-form #description').fill('وجدت حسابًا آخر يرسل الرسائل نفسها.');
  // (DevTools edits the hidden field; the page itself runs no script.)
  await page.locator('#add-form input[name=receipt]').evaluate((e) => { e.value = e.value.slice(0, 9); });
  await go(page, 'ar: addition with a cut code', 'ar', 422, () => page.locator('#add-form button[type=submit]').click());
  check(((await page.locator('#receipt-error').textContent()) || '').includes(AR.receiptBad), 'a cut code is not explained');
  check((await page.locator('#receipt').inputValue()) === receipt.slice(0, 9), 'the cut code is not shown to correct');
  check((await page.locator('#accounts').inputValue()) === account, 'the account typed was not kept');
  await shoot(page, 'add-error');
  await page.locator('#receipt').fill(receipt);
  posts.length = 0;
  await go(page, 'ar: addition received', 'ar', 200, () => page.locator('#add-form button[type=submit]').click());
  check(posts.length === 1 && posts[0] === `${BASE}/ar/follow-up/add`, `the addition went to ${posts.join(', ')}`);
  check(((await page.locator('h1').textContent()) || '').trim() === AR.added, 'no acknowledgement of the addition');
  check(((await page.locator('#receipt-code').textContent()) || '').trim() === receipt, 'the acknowledgement does not repeat the code');
  await shoot(page, 'added');
  check(offenders.length === 0, `requests to other origins: ${offenders.join(', ')}`);
  await context.close();

  await audit(browser, receipt);
}

async function audit(browser, receipt) {
  const { context } = await browserContext(browser, true);
  const page = await context.newPage();
  const submit = async (form) => Promise.all([page.waitForNavigation(), page.locator(`${form} button[type=submit]`).click()]);
  const states = [];
  for (const lang of ['ar', 'fr', 'en']) {
    states.push([`/${lang}/follow-up`, () => page.goto(`${BASE}/${lang}/follow-up`)]);
    states.push([`/${lang}/follow-up (answer)`, async () => {
      await page.goto(`${BASE}/${lang}/follow-up`);
      await page.locator('#receipt').fill(receipt);
      await submit('#followup-form');
    }]);
    states.push([`/${lang}/follow-up (no news)`, async () => {
      await page.goto(`${BASE}/${lang}/follow-up`);
      await page.locator('#receipt').fill('nonsense');
      await submit('#followup-form');
    }]);
    states.push([`/${lang}/follow-up/add (errors)`, async () => {
      await page.goto(`${BASE}/${lang}/follow-up`);
      await page.locator('#receipt').fill('0000');
      await submit('#followup-form');
      await submit('#add-form');
    }]);
  }
  let audited = 0;
  for (const [name, to] of states) {
    await to();
    await page.addScriptTag({ content: AXE_SOURCE });
    const result = await page.evaluate(() => window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    }));
    audited += 1;
    for (const v of result.violations) {
      const line = `axe ${v.impact} ${v.id} on ${name}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')})`;
      if (v.impact === 'serious' || v.impact === 'critical') check(false, line);
      else console.log(`warn: ${line}`);
    }
  }
  console.log(`  axe: ${audited} follow-up page states audited`);
  await context.close();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    if (phase === 'report') await report(browser);
    else await answer(browser, receiptArg, wordsArg);
  } finally {
    await browser.close();
  }
  console.log(`${checks} checks, ${failures.length} failed`);
  if (failures.length) process.exit(1);
}

main().catch((e) => {
  console.error(`follow-up browser test could not run: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
