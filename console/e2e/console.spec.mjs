// End-to-end test of the web console in headless Chromium, driven by playwright-core (never downloading a
// browser: it uses the system's /usr/bin/chromium). Run by console/e2e_test.go (make test), which starts a
// throwaway server and passes:
//   BASE_URL          the server, e.g. http://127.0.0.1:41234
//   FACEGATE_KEY      its admin key
//   PLAYWRIGHT_CORE   the unpacked playwright-core package (.deps/playwright-core, from scripts/deps.sh)
//   IMAGES            the folder with obama.jpg and obama2.jpg
//   SCREENSHOTS       where to write the screenshots (docs/console for the documentation)
//   CHROMIUM          the browser (default /usr/bin/chromium)
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
const need = (k) => { const v = process.env[k]; if (!v) { console.error(`e2e: $${k} is not set`); process.exit(2); } return v; };
const base = need('BASE_URL');
const adminKey = need('FACEGATE_KEY');
const images = need('IMAGES');
const shots = need('SCREENSHOTS');
const require = createRequire(import.meta.url);
const { chromium } = require(need('PLAYWRIGHT_CORE'));

const started = Date.now();
const step = (s) => console.log(`e2e: ${((Date.now() - started) / 1000).toFixed(1)}s ${s}`);

// A plain grey PNG (no face): the quality gate must reject it, and the console must say so next to the photo.
function greyPNG(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 0;
  const raw = Buffer.alloc((w + 1) * h, 128);
  for (let y = 0; y < h; y++) raw[y * (w + 1)] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const profile = mkdtempSync(join(tmpdir(), 'facegate-e2e-chromium-'));
mkdirSync(shots, { recursive: true });
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 860 },
  acceptDownloads: true,
});
const problems = [];
let ok = false;
const page = ctx.pages()[0] || await ctx.newPage();
try {
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Failed requests the test causes on purpose (a wrong key, a rejected photo) are logged by the browser;
    // anything else, such as a CSP violation, is a failure.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|422)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const heading = (name) => page.getByRole('heading', { level: 1, name });

  step('sign in');
  await page.goto(base + '/');
  await heading('Sign in').waitFor();
  assert.equal(new URL(page.url()).pathname, '/signin');
  assert.equal(await page.evaluate(() => document.activeElement.id && document.activeElement.labels[0].textContent), 'API key', 'the key field has focus');
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false, 'no sign-out before signing in');
  await page.screenshot({ path: join(shots, 'sign-in.png') });
  await page.getByLabel('API key').fill('fg_not_a_real_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This key was not accepted').waitFor();
  await page.getByLabel('API key').fill(adminKey);
  await page.getByLabel('API key').press('Enter');
  await heading('Galleries').waitFor();
  await page.locator('.role', { hasText: 'admin' }).waitFor();

  step('create a gallery');
  await page.getByLabel('Name', { exact: true }).fill('staff');
  await page.getByLabel('Purpose').selectOption('access_control');
  await page.getByLabel('Description (optional)').fill('Office doors, end-to-end test');
  await page.getByRole('button', { name: 'Create gallery' }).click();
  await heading('Gallery staff').waitFor();

  step('enrol: consent first, a rejected photo, then a good one');
  await page.getByRole('link', { name: 'Enrol a person' }).click();
  await heading('Enrol a person').waitFor();
  assert.equal(await page.getByLabel('Photo').isDisabled(), true, 'the photo is locked until the consent record is filled in');
  await page.getByLabel('Who consents').fill('Barack Obama');
  await page.getByLabel('Evidence reference').fill('signed form 2026-11-29/17');
  assert.equal(await page.getByLabel('Access control').isChecked(), true, 'the gallery purpose is ticked by default');
  await page.getByLabel('External id').fill('e42');
  await page.getByLabel('Display name').fill('Barack Obama');
  await page.getByLabel('Photo').setInputFiles({ name: 'wall.png', mimeType: 'image/png', buffer: greyPNG(320, 240) });
  await page.getByRole('button', { name: 'Enrol' }).click();
  const photoErr = page.locator('#' + (await page.getByLabel('Photo').getAttribute('id')) + '-err');
  await photoErr.getByText(/no face|quality/i).first().waitFor();
  step(`rejection shown next to the photo: ${(await photoErr.innerText()).replace(/\s+/g, ' ')}`);
  await page.screenshot({ path: join(shots, 'enrol-rejected.png'), fullPage: true });
  await page.getByLabel('Photo').setInputFiles(join(images, 'obama.jpg'));
  await page.getByRole('button', { name: 'Enrol' }).click();
  await heading('Barack Obama').waitFor();
  await page.getByRole('heading', { name: 'Faces (1)' }).waitFor();
  await page.getByRole('cell', { name: 'signed form 2026-11-29/17' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.faces img')].every((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: join(shots, 'subject.png'), fullPage: true });
  const subjectURL = page.url();

  step('export downloads a ZIP');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (download)' }).click()]);
  assert.match(download.suggestedFilename(), /\.zip$/);

  step('gallery page and list');
  await page.getByRole('link', { name: 'staff' }).first().click();
  await heading('Gallery staff').waitFor();
  await page.getByRole('cell', { name: 'e42' }).waitFor();
  await page.waitForFunction(() => { const i = document.querySelector('img.thumb'); return i && i.complete && i.naturalWidth > 0; });
  await page.screenshot({ path: join(shots, 'gallery.png'), fullPage: true });
  await page.getByLabel('Find by external id').fill('nobody');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByText('Nobody with external id “nobody”').waitFor();
  await page.getByRole('link', { name: 'Galleries' }).first().click();
  await heading('Galleries').waitFor();
  await page.getByRole('row', { name: /staff Access control 1 1/ }).waitFor();
  await page.screenshot({ path: join(shots, 'galleries.png'), fullPage: true });

  step('search: a match with the name');
  await page.getByRole('link', { name: 'staff' }).focus(); // keyboard only: links open with Enter
  await page.keyboard.press('Enter');
  await heading('Gallery staff').waitFor();
  await page.getByRole('link', { name: 'Search with a photo' }).focus();
  await page.keyboard.press('Enter');
  await heading('Search staff').waitFor();
  await page.getByLabel('Photo to search').setInputFiles(join(images, 'obama2.jpg'));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const result = page.locator('#search-result');
  await result.getByRole('heading', { name: /Face 1: match Barack Obama/ }).waitFor();
  const score = await result.locator('tbody td.num').first().innerText();
  step(`match, score ${score}`);
  await page.screenshot({ path: join(shots, 'search-match.png'), fullPage: true });

  step('phone width');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, 'search-match-phone.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling at 390 px (overflow ${overflow} px)`);
  await page.setViewportSize({ width: 1280, height: 860 });

  step('erase with confirmation');
  await page.goto(subjectURL);
  await heading('Barack Obama').waitFor();
  await page.getByRole('button', { name: 'Erase…' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click(); // cancelling erases nothing
  await page.getByRole('button', { name: 'Erase…' }).click();
  await page.getByRole('button', { name: 'Yes, erase Barack Obama' }).click();
  await heading('Gallery staff').waitFor();
  await page.getByText('Nobody is enrolled in this gallery yet.').waitFor();

  step('search again: unknown');
  await page.getByRole('link', { name: 'Search with a photo' }).click();
  await page.getByLabel('Photo to search').setInputFiles(join(images, 'obama2.jpg'));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await result.getByRole('heading', { name: /Face 1: unknown/ }).waitFor();
  assert.equal(await result.getByText('Barack Obama').count(), 0, 'the erased person is not a candidate');
  await page.screenshot({ path: join(shots, 'search-unknown.png'), fullPage: true });

  step('a device key sees search only');
  const res = await fetch(base + '/v1/keys', { method: 'POST', headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'door-1', role: 'device' }) });
  assert.equal(res.status, 201, `creating a device key: ${res.status}`);
  const { secret } = await res.json();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading('Sign in').waitFor();
  await page.getByLabel('API key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading('Galleries').waitFor();
  await page.locator('.role', { hasText: 'device' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create gallery' }).count(), 0, 'no gallery creation for a device key');
  await page.getByRole('link', { name: 'staff' }).click();
  await page.getByRole('link', { name: 'Search with a photo' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Enrol a person' }).count(), 0, 'no enrolment for a device key');

  step('a revoked key returns to sign-in');
  const keys = await (await fetch(base + '/v1/keys', { headers: { Authorization: `Bearer ${adminKey}` } })).json();
  const dev = keys.keys.find((k) => k.name === 'door-1');
  assert.ok(dev, 'the device key is listed');
  const del = await fetch(base + '/v1/keys/' + dev.id, { method: 'DELETE', headers: { Authorization: `Bearer ${adminKey}` } });
  assert.ok(del.ok, `revoking the device key: ${del.status}`);
  await page.getByRole('link', { name: 'Galleries' }).first().click();
  await heading('Sign in').waitFor();
  await page.getByText('Please sign in again').waitFor();

  assert.deepEqual(problems, [], 'no page errors, CSP violations or unexpected failed requests');
  ok = true;
  step('passed');
} catch (e) {
  await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`e2e: failed at ${page.url()}; the page says:\n` + (await page.locator('body').innerText().catch(() => '?')));
  throw e;
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  if (!ok && problems.length) console.error('e2e: browser problems:\n  ' + problems.join('\n  '));
}
