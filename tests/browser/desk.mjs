// The analyst's desk (`salama desk`) in a real browser: Debian's chromium,
// JavaScript OFF, a desktop window. Driven by tests/browser.rs in two
// phases around a restart of the desk:
//
//   node desk.mjs work DESK OUT B1 B2 B3
//     DESK is the address the desk printed (http://127.0.0.1:PORT/SECRET/en/).
//     Imports B1 and B2 (two bundles naming SHARED) from the page: SHARED
//     is queued once, first, with both reports; B1 again is recognised;
//     SHARED is assessed through the form (a missing answer first: named,
//     what was typed kept); the Arabic reporter is answered; B3 names
//     SHARED again: "already assessed", not queued; the exports written.
//   node desk.mjs again DESK OUT
//     After the restart (a new secret): the assessment and the answer are
//     still there; a request without the secret gets nothing; every desk
//     page state audited with axe-core in ar (right to left), fr and en.
//
// Every page: <html lang dir>, no script, nothing from another origin, no
// URL of a report as a link. Exit 0 when every check passed, 1 when one
// failed ("FAIL: ..."), 2 when the run itself broke.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = require('axe-core').source;

// The same as in tests/browser.rs, which files the reports.
const SHARED = 'https://shared.example.com/album/7';
const ONLY_AR = 'https://only-ar.example.com/x';
const NEW = 'https://new.example.com/';
const AR_WORDS = 'رأيت هذا الألبوم';
const FR_WORDS = 'vu cet album';
const NOTE = '=HYPERLINK("x") <b>note</b>';
const ANSWER = 'شكرا، أزيل المحتوى.';

const [phase, desk, outDir, ...bundles] = process.argv.slice(2);
if (!['work', 'again'].includes(phase) || !desk || !outDir || (phase === 'work' && bundles.length !== 3)) {
  console.error('usage: node desk.mjs work DESK OUT B1 B2 B3 | again DESK OUT');
  process.exit(2);
}
const DESK = desk.endsWith('/') ? desk : `${desk}/`;
const ORIGIN = new URL(DESK).origin;
const SECRET = new URL(DESK).pathname.split('/')[1];
const at = (lang, rest = '') => `${ORIGIN}/${SECRET}/${lang}/${rest}`;
mkdirSync(outDir, { recursive: true });
const DESKTOP = { width: 1280, height: 900 };

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
  const context = await browser.newContext({ javaScriptEnabled, bypassCSP: javaScriptEnabled, viewport: DESKTOP });
  context.setDefaultTimeout(15000);
  const offenders = [];
  context.on('request', (r) => {
    if (new URL(r.url()).origin !== ORIGIN) offenders.push(`${r.method()} ${r.url()}`);
  });
  return { context, offenders };
}

/** Navigate by `action`; check the page and return its response. */
async function go(page, label, lang, status, action) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
  check(resp && resp.status() === status, `${label}: status ${resp && resp.status()}, expected ${status}`);
  const html = page.locator('html');
  check((await html.getAttribute('lang')) === lang, `${label}: <html lang> is not ${lang}`);
  check((await html.getAttribute('dir')) === (lang === 'ar' ? 'rtl' : 'ltr'), `${label}: <html dir> is wrong`);
  check((await page.locator('script').count()) === 0, `${label}: the page has a script`);
  check((await page.locator('a[href*="example.com"]').count()) === 0, `${label}: a reported URL is a link`);
  check(!/example\.com/.test(await page.title()), `${label}: a reported URL is in the title`);
  console.log(`  ${label}`);
  return resp;
}

async function shoot(page, name) {
  await page.screenshot({ path: path.join(outDir, `desk-${name}.png`), fullPage: true });
}

/** The queue's rows whose URL cell is exactly `url`. */
function rowsOf(page, url) {
  return page.locator('table.queue tbody tr').filter({ has: page.locator('code.url', { hasText: new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) });
}

async function importBundle(page, label, file) {
  await page.locator('#path').fill(file);
  await go(page, label, 'en', 200, () => page.locator('form[action$="/import"] button[type=submit]').click());
  return ((await page.locator('[role=status], [role=alert]').first().innerText().catch(() => '')) || '').trim();
}

async function work(browser) {
  const { context, offenders } = await browserContext(browser, false);
  const page = await context.newPage();
  const [b1, b2, b3] = bundles;
  await go(page, 'en: empty queue', 'en', 200, () => page.goto(DESK));

  // Two bundles that share a URL, imported from the page.
  for (const [i, b] of [[1, b1], [2, b2]]) {
    const said = await importBundle(page, `en: import bundle ${i}`, b);
    check(said.startsWith('Imported 1 report or addition from bundle '), `bundle ${i}: "${said}"`);
  }
  const again = await importBundle(page, 'en: bundle 1 again', b1);
  check(again.includes('already imported'), `bundle 1 again is not recognised: "${again}"`);

  await go(page, 'en: queue', 'en', 200, () => page.goto(DESK));
  check((await rowsOf(page, SHARED).count()) === 1, 'the shared URL is not in the queue exactly once');
  check((await rowsOf(page, ONLY_AR).count()) === 1, 'the other URL of bundle 1 is not queued');
  const first = page.locator('table.queue tbody tr').first();
  check(((await first.locator('code.url').innerText()) || '').trim() === SHARED, 'the shared URL (two reports) is not first');
  check(((await first.locator('td').first().innerText()) || '').trim() === '2', 'the shared URL does not count two reports');
  // A day is read at a glance: never broken over two lines at its hyphens.
  for (const cell of await page.locator('table.queue tbody td.day').all()) {
    const lines = await cell.evaluate((e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; });
    check(lines === 1, `a day in the queue is broken over ${lines} lines`);
  }
  check((await page.locator('table.queue tbody td.day').count()) === 4, 'the queue does not show first and last seen days');
  await shoot(page, 'queue');

  // Assess it through the form.
  await go(page, 'en: the shared URL', 'en', 200, () => rowsOf(page, SHARED).locator('a').click());
  const reports = page.locator('article');
  check((await reports.count()) === 2, `the URL page shows ${await reports.count()} reports, expected 2`);
  const text = await page.locator('main').innerText();
  check(text.includes(AR_WORDS) && text.includes(FR_WORDS), 'the URL page does not show both reports\' words');
  const arDir = await page.locator('td.desc[lang=ar]').evaluate((e) => getComputedStyle(e).direction);
  check(arDir === 'rtl', `the Arabic report runs ${arDir}`);
  const assessUrl = page.url();

  const fill = async (withGender) => {
    await page.locator('input[name=classification][value=baseline]').check();
    await page.locator('input[name=site-type][value=image-board]').check();
    await page.locator('input[name=content-type][value=images]').check();
    await page.locator('input[name=age-group][value=pre-pubescent]').check();
    if (withGender) await page.locator('input[name=gender][value=female]').check();
    await page.locator('input[name=user-generated]').check();
    await page.locator('#hosting-country').fill('nl');
    await page.locator('input[name=iwf-category][value=a]').check();
    await page.locator('#note').fill(NOTE);
  };
  // Gender left at "not given" is a valid answer; a hand-made form without
  // the field is what the server must refuse. (DevTools edits the form;
  // the page itself runs no script.)
  await fill(true);
  await page.locator('input[name=gender]').evaluateAll((all) => all.forEach((e) => e.remove()));
  await go(page, 'en: assessment with a missing answer', 'en', 422, () => page.locator('main form button[type=submit]').click());
  check((await page.locator('[role=alert] a[href="#gender"]').count()) === 1, 'the missing gender is not named with a link to it');
  check((await page.locator('#note').inputValue()) === NOTE, 'the note typed was not kept');
  check(await page.locator('input[name=classification][value=baseline]').isChecked(), 'the classification chosen was not kept');
  check((await page.locator('#hosting-country').inputValue()) === 'nl', 'the country typed was not kept');
  await shoot(page, 'assess-error');
  await fill(true);
  await go(page, 'en: assessment saved', 'en', 200, () => page.locator('main form button[type=submit]').click());
  check(page.url().startsWith(at('en')), `saved, but now at ${page.url()}`);
  check(((await page.locator('[role=status]').innerText()) || '').includes('Saved.'), 'no "Saved." after the assessment');
  check((await rowsOf(page, SHARED).count()) === 0, 'the assessed URL is still queued');

  // Answer the Arabic reporter (from the URL page, as the analyst would).
  await go(page, 'en: the shared URL, assessed', 'en', 200, () => page.goto(assessUrl));
  check(((await page.locator('p.warning').innerText()) || '').startsWith('Already assessed on'), 'the URL page does not say it was assessed');
  const arReport = page.locator('article').filter({ hasText: AR_WORDS });
  await go(page, 'en: answer the reporter', 'en', 200, () => arReport.locator('a', { hasText: 'Answer the reporter' }).click());
  await page.locator('input[name=status][value=action-taken]').check();
  await page.locator('input[name=reply][value=removed]').check();
  await page.locator('#text').fill(ANSWER);
  await go(page, 'en: answer saved', 'en', 200, () => page.locator('main form button[type=submit]').click());
  check(((await page.locator('[role=status]').innerText()) || '').includes('Saved.'), 'no "Saved." after the answer');

  // A third bundle names it again: shown as already assessed, not queued.
  const third = await importBundle(page, 'en: import bundle 3', b3);
  check(third.startsWith('Imported 1 report or addition from bundle '), `bundle 3: "${third}"`);
  check(((await page.locator('main').innerText()) || '').includes('\n2 URLs\n'), 'the queue does not count "2 URLs"');
  const listed = page.locator('[role=status] li').filter({ has: page.locator('code.url', { hasText: SHARED }) });
  check((await listed.count()) === 1, 'bundle 3\'s notice does not list the shared URL');
  check(((await listed.first().innerText().catch(() => '')) || '').includes('Already assessed on'), 'the shared URL is not shown as already assessed');
  check((await rowsOf(page, SHARED).count()) === 0, 'the shared URL is queued again');
  check((await rowsOf(page, NEW).count()) === 1, 'bundle 3\'s new URL is not queued');
  await shoot(page, 'third-bundle');
  await page.locator('select[name=status]').selectOption('reported-again');
  await go(page, 'en: reported again', 'en', 200, () => page.locator('form.filters button[type=submit]').click());
  const row = rowsOf(page, SHARED);
  check((await row.count()) === 1, 'the shared URL is not under "reported again"');
  check(((await row.first().innerText().catch(() => '')) || '').includes('Already assessed on'), 'the row does not say "already assessed"');

  // The exports.
  await go(page, 'en: queue', 'en', 200, () => page.goto(DESK));
  await go(page, 'en: exports written', 'en', 200, () => page.locator('form[action$="/export"] button[type=submit]').click());
  const files = await page.locator('[role=status] li code').allInnerTexts();
  for (const prefix of ['iccam-', 'by-host-', 'ledger-', 'answers-']) {
    check(files.some((f) => path.basename(f).startsWith(prefix)), `no ${prefix} export listed: ${files.join(', ')}`);
  }
  for (const f of files) console.log(`EXPORT ${f}`);
  await shoot(page, 'exports');
  check(offenders.length === 0, `requests to other origins: ${offenders.join(', ')}`);
  await context.close();
}

async function again(browser) {
  const { context, offenders } = await browserContext(browser, false);
  const page = await context.newPage();
  await go(page, 'en: queue after the restart', 'en', 200, () => page.goto(`${DESK}?status=assessed`));
  const row = rowsOf(page, SHARED);
  check((await row.count()) === 1, 'the assessed URL is gone after the restart');
  check(((await row.first().innerText().catch(() => '')) || '').includes('as Baseline (illegal everywhere) by amina'), 'the assessment is not shown after the restart');
  await go(page, 'en: the shared URL after the restart', 'en', 200, () => row.locator('a').click());
  const urlPage = page.url();
  check(await page.locator('input[name=classification][value=baseline]').isChecked(), 'the classification is not shown checked');
  check(await page.locator('input[name=user-generated]').isChecked(), 'the user-generated flag is not shown checked');
  check((await page.locator('#note').inputValue()) === NOTE, 'the note is not shown as entered');
  const arReport = page.locator('article').filter({ hasText: AR_WORDS });
  await go(page, 'en: the answer after the restart', 'en', 200, () => arReport.locator('a', { hasText: 'Answer the reporter' }).click());
  const reportPage = page.url();
  check(await page.locator('input[name=status][value=action-taken]').isChecked(), 'the answer\'s status is lost');
  check((await page.locator('#text').inputValue()) === ANSWER, 'the answer\'s words are lost');

  // Without the secret: nothing.
  for (const p of ['/', '/en/', '/0123456789abcdef0123456789abcdef/en/', `/${SECRET.slice(0, -1)}x/en/`, `/x/en/${new URL(urlPage).pathname.split('/').slice(3).join('/')}`]) {
    const resp = await page.goto(`${ORIGIN}${p}`);
    check(resp.status() === 404, `${p} without the secret: status ${resp.status()}`);
    const body = await resp.text();
    check(!/example\.com|Queue|desk/i.test(body), `${p} without the secret says something: ${body.slice(0, 80)}`);
  }
  check(offenders.length === 0, `requests to other origins: ${offenders.join(', ')}`);
  await context.close();
  await audit(browser, urlPage, reportPage);
}

async function audit(browser, urlPage, reportPage) {
  const { context } = await browserContext(browser, true);
  const page = await context.newPage();
  const rest = (u) => new URL(u).pathname.split('/').slice(3).join('/');
  const states = [];
  for (const lang of ['ar', 'fr', 'en']) {
    states.push([`${lang}: queue`, lang, () => page.goto(at(lang))]);
    states.push([`${lang}: queue, assessed`, lang, () => page.goto(`${at(lang)}?status=assessed`)]);
    states.push([`${lang}: URL page`, lang, () => page.goto(at(lang, rest(urlPage)))]);
    states.push([`${lang}: URL page with problems`, lang, async () => {
      await page.goto(at(lang, rest(urlPage)));
      await page.locator('input[name=classification]').evaluateAll((all) => all.forEach((e) => e.remove()));
      await Promise.all([page.waitForNavigation(), page.locator('main form button[type=submit]').click()]);
    }]);
    states.push([`${lang}: report page`, lang, () => page.goto(at(lang, rest(reportPage)))]);
    states.push([`${lang}: import failed`, lang, async () => {
      await page.goto(at(lang));
      await page.locator('#path').fill('/nonexistent.tar');
      await Promise.all([page.waitForNavigation(), page.locator('form[action$="/import"] button[type=submit]').click()]);
    }]);
    states.push([`${lang}: not found`, lang, () => page.goto(at(lang, 'nothing-here'))]);
  }
  let audited = 0;
  for (const [name, lang, to] of states) {
    await to();
    const html = page.locator('html');
    check((await html.getAttribute('lang')) === lang, `${name}: <html lang> is not ${lang}`);
    check((await html.getAttribute('dir')) === (lang === 'ar' ? 'rtl' : 'ltr'), `${name}: <html dir> is wrong`);
    if (lang === 'ar') {
      const dir = await page.locator('main').evaluate((e) => getComputedStyle(e).direction);
      check(dir === 'rtl', `${name}: the page runs ${dir}`);
      // A day inside Arabic text reads 2026-11-30, not 30-11-2026: its
      // year is drawn left of its day of the month.
      for (const el of await page.locator('p.warning, table.queue td:last-child').all()) {
        const order = await el.evaluate((e) => {
          const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
          for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const m = /(\d{4})-\d{2}-(\d{2})/.exec(n.data);
            if (!m) continue;
            const rect = (from, len) => { const r = document.createRange(); r.setStart(n, from); r.setEnd(n, from + len); return r.getBoundingClientRect(); };
            const year = rect(m.index, 4);
            const dd = rect(m.index + 8, 2);
            return year.top === dd.top ? (year.left < dd.left ? 'ok' : `${m[0]} drawn reversed`) : 'ok';
          }
          return 'ok';
        });
        check(order === 'ok', `${name}: a day in Arabic text is ${order}`);
      }
    }
    await page.screenshot({ path: path.join(outDir, `desk-audit-${name.replace(/[^a-z]+/gi, '-')}.png`), fullPage: true });
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
  console.log(`  axe: ${audited} desk page states audited`);
  await context.close();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    if (phase === 'work') await work(browser);
    else await again(browser);
  } finally {
    await browser.close();
  }
  console.log(`${checks} checks, ${failures.length} failed`);
  if (failures.length) process.exit(1);
}

main().catch((e) => {
  console.error(`desk browser test could not run: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
