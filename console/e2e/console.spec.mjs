// End-to-end test of the web console in headless Chromium, driven by playwright-core (never downloading a
// browser: it uses the system's /usr/bin/chromium). Run by console/e2e_test.go (make test), which starts a
// throwaway server and passes:
//   BASE_URL          the server, e.g. http://127.0.0.1:41234
//   FACEGATE_KEY      its admin key
//   PLAYWRIGHT_CORE   the unpacked playwright-core package (.deps/playwright-core, from scripts/deps.sh)
//   IMAGES            the folder with obama.jpg and obama2.jpg
//   SCREENSHOTS       where to write the screenshots (docs/console for the documentation)
//   VIDEO             non-empty when ffmpeg is there: then CLIP (the test video) and WATCH_PHOTO (the person on the
//                     watchlist) drive the streams, live view, review queue and audit part
//   CHROMIUM          the browser (default /usr/bin/chromium)
//   CAMERA            a .y4m video of obama.jpg (made with ffmpeg) that Chromium's fake camera plays: drives the
//                     guided webcam enrolment; empty without ffmpeg
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    '--disable-component-update', '--disable-sync',
    ...(process.env.CAMERA ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${process.env.CAMERA}`] : [])],
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
    // Failed requests the test causes on purpose (a wrong key, a rejected photo, a group photo, a possible duplicate,
    // a bad stream source) are logged by the browser;
    // anything else, such as a CSP violation, is a failure.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|401|409|422)/.test(m.text())) problems.push(`console: ${m.text()}`);
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
  await page.getByText('What the person agrees to:').waitFor(); // purpose, what is kept, retention, whom to contact
  await page.getByText('Who to contact:').waitFor();
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

  await page.getByRole('heading', { name: 'Enrolment history' }).waitFor();
  await page.getByText('Face 1 enrolled').waitFor();

  step('duplicate check: another photo of the same man under another name is questioned');
  await page.getByRole('link', { name: 'staff' }).first().click();
  await page.getByRole('link', { name: 'Enrol a person' }).click();
  await heading('Enrol a person').waitFor();
  await page.getByLabel('Who consents').fill('Someone Else');
  await page.getByLabel('Evidence reference').fill('signed form 2026-11-29/99');
  await page.getByLabel('External id').fill('e99');
  await page.getByLabel('Display name').fill('Someone Else');
  await page.getByLabel('Photo').setInputFiles(join(images, 'obama2.jpg'));
  await page.getByRole('button', { name: 'Enrol' }).click();
  const dup = page.getByRole('group', { name: /This face matches Barack Obama \(0\.\d\d\)\. Enrol anyway as a different person\?/ });
  await dup.waitFor();
  step(`asked: ${(await dup.locator('p').first().innerText()).replace(/\s+/g, ' ')}`);
  await page.screenshot({ path: join(shots, 'enrol-duplicate.png'), fullPage: true });
  await dup.getByRole('button', { name: 'Cancel' }).click(); // nothing is enrolled
  assert.equal(await page.getByRole('group', { name: /This face matches/ }).count(), 0, 'the question is gone');
  await page.goto(subjectURL);
  await heading('Barack Obama').waitFor();
  step('export downloads a ZIP');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (download)' }).click()]);
  assert.match(download.suggestedFilename(), /\.zip$/);

  step('gallery page and list');
  await page.getByRole('link', { name: 'staff' }).first().click();
  await heading('Gallery staff').waitFor();
  await page.getByRole('cell', { name: 'e42' }).waitFor();
  await page.waitForFunction(() => { const i = document.querySelector('img.thumb'); return i && i.complete && i.naturalWidth > 0; });
  await page.screenshot({ path: join(shots, 'gallery.png'), fullPage: true });
  await page.getByLabel('Find by name or external id').fill('nobody');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByText('Nobody whose name contains “nobody”').waitFor();
  await page.getByLabel('Find by name or external id').fill('obama');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('cell', { name: 'e42' }).waitFor(); // found by part of the name, ignoring case
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

  const group = join(images, '..', '..', 'multi_face', 'kit_with_rose.jpg');
  if (existsSync(group)) {
    step('group photo: refused, then the largest face is enrolled');
    await page.getByRole('link', { name: 'staff' }).first().click();
    await page.getByRole('link', { name: 'Enrol a person' }).click();
    await heading('Enrol a person').waitFor();
    await page.getByLabel('Who consents').fill('Kit Harington');
    await page.getByLabel('Evidence reference').fill('signed form 2026-11-29/20');
    await page.getByLabel('Display name').fill('Kit Harington');
    await page.getByLabel('Photo').setInputFiles(group);
    await page.getByRole('button', { name: 'Enrol', exact: true }).click();
    await page.getByRole('button', { name: 'Use the largest face' }).waitFor();
    await page.screenshot({ path: join(shots, 'enrol-group.png'), fullPage: true });
    await page.getByRole('button', { name: 'Use the largest face' }).click();
    await heading('Kit Harington').waitFor();
    await page.getByRole('heading', { name: 'Faces (1)' }).waitFor();
  } else {
    step(`group photo: skipped (${group} not found)`);
  }

  if (process.env.CAMERA) {
    step('guided webcam enrolment (fake camera showing obama.jpg)');
    await page.goto(base + '/galleries');
    await page.getByRole('link', { name: 'staff' }).first().click();
    await heading('Gallery staff').waitFor();
    await page.getByRole('link', { name: 'Enrol a person' }).click();
    await heading('Enrol a person').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Use the webcam (guided)' }).isDisabled(), true, 'the webcam is locked until the consent record is filled in');
    await page.getByLabel('Who consents').fill('Barack Obama');
    await page.getByLabel('Evidence reference').fill('signed form 2026-11-29/18');
    await page.getByLabel('External id').fill('e43');
    await page.getByLabel('Display name').fill('Barack Obama (webcam)');
    await page.getByRole('button', { name: 'Use the webcam (guided)' }).click();
    const camStatus = page.locator('.cam-status');
    await camStatus.getByText('Step 1 of 5, front').waitFor();
    await page.locator('[data-step=front]', { hasText: 'accepted' }).waitFor();
    step(`front accepted: ${await page.locator('.cam-taken').innerText()}`);
    await camStatus.getByText('Step 2 of 5, left').waitFor();
    await page.waitForFunction(() => (document.querySelector('.cam-feedback').textContent || '').length > 0);
    step(`left step feedback: ${await page.locator('.cam-feedback').innerText()}`);
    await page.screenshot({ path: join(shots, 'enrol-webcam.png'), fullPage: true });
    // A still photo cannot turn its head: the other steps are skipped, with the keyboard (the skip button has focus).
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip this step', 'the skip button has the focus');
    for (const [n, s] of [[3, 'right'], [4, 'up'], [5, 'down']]) {
      await page.keyboard.press('Enter');
      await camStatus.getByText(`Step ${n} of 5, ${s}`).waitFor();
    }
    await page.keyboard.press('Enter');
    await camStatus.getByText('Done: 1 view accepted (front)').waitFor();
    assert.equal(await page.locator('[data-step=left]').innerText(), 'Left: skipped');
    await page.getByRole('button', { name: 'Enrol', exact: true }).click();
    await heading('Barack Obama (webcam)').waitFor();
    await page.getByRole('heading', { name: 'Faces (1)' }).waitFor();
    await page.getByRole('cell', { name: 'signed form 2026-11-29/18' }).waitFor();
  }

  if (process.env.VIDEO) {
    step('watchlist: a gallery (via the API), a person enrolled with a reason and a review date, no consent text');
    const auth = { Authorization: `Bearer ${adminKey}` };
    let r = await fetch(base + '/v1/galleries', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'wanted', purpose: 'watchlist', legal_basis: 'test' }) });
    assert.equal(r.status, 201, `creating the watchlist: ${r.status} ${await r.clone().text()}`);
    const wl = await r.json();
    await page.goto(`${base}/galleries/${wl.id}`);
    await heading('Gallery wanted').waitFor();
    await page.getByRole('link', { name: 'Enrol a person' }).click();
    await heading('Enrol a person').waitFor();
    assert.equal(await page.getByText('What the person agrees to').count(), 0, 'no consent text for a watchlisted person');
    assert.equal(await page.getByLabel('Who consents').count(), 0, 'no consent record for a watchlisted person');
    assert.equal(await page.getByLabel('Photo').isDisabled(), true, 'the photo is locked until the reason and review date are filled in');
    await page.getByLabel('Reason').fill('end-to-end test: case 2026/41');
    const reviewDate = new Date(Date.now() + 30 * 86400e3);
    const ymd = `${reviewDate.getFullYear()}-${String(reviewDate.getMonth() + 1).padStart(2, '0')}-${String(reviewDate.getDate()).padStart(2, '0')}`;
    await page.getByLabel('Review date').fill(ymd);
    await page.getByLabel('Display name').fill('Lin-Manuel Miranda');
    await page.getByLabel('Photo').setInputFiles(process.env.WATCH_PHOTO);
    await page.screenshot({ path: join(shots, 'enrol-watchlist.png'), fullPage: true });
    await page.getByRole('button', { name: 'Enrol', exact: true }).click();
    await heading('Lin-Manuel Miranda').waitFor();
    const watchURL = page.url();
    const entry = page.locator('#watch-entry');
    await entry.getByText('end-to-end test: case 2026/41').waitFor();
    await entry.getByText(await page.evaluate((d) => new Date(d + 'T12:00:00').toLocaleDateString(), ymd)).waitFor();
    await entry.getByText('initial admin').waitFor(); // who added it, by the key's name
    await page.getByRole('heading', { name: 'Rejections (0)' }).waitFor();

    step('streams: add one on the clip (a bad source first)');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Streams' }).click();
    await heading('Streams').waitFor();
    await page.getByText('There are no streams yet').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('stage');
    await page.getByLabel('Source').fill('/nonexistent/clip.mp4');
    await page.getByLabel('Gallery').selectOption({ label: 'wanted' });
    await page.getByLabel('Loop: start a file again at its end').check();
    await page.getByRole('button', { name: 'Add stream' }).click();
    const srcErr = page.locator('#' + (await page.getByLabel('Source').getAttribute('id')) + '-err');
    await srcErr.getByText('This source cannot be opened.').waitFor();
    await page.getByLabel('Source').fill(process.env.CLIP);
    await page.getByRole('button', { name: 'Add stream' }).click();
    await page.getByRole('link', { name: 'stage: live view' }).waitFor();
    await page.getByRole('cell', { name: 'Running' }).waitFor(); // the status refreshes by itself
    await page.screenshot({ path: join(shots, 'streams.png'), fullPage: true });

    step('live view: preview frames and a match in the feed');
    const streamID = async () => (await (await fetch(base + '/v1/streams', { headers: auth })).json()).streams.find((x) => x.name === 'stage').id;
    await page.getByRole('link', { name: 'stage: live view' }).click();
    await heading('Live: stage').waitFor();
    const preview = page.locator('img.preview');
    await page.waitForFunction(() => { const i = document.querySelector('img.preview'); return i && Number(i.dataset.frames) >= 1 && i.complete && i.naturalWidth > 0; });
    const first = await preview.getAttribute('src');
    await page.waitForFunction((src) => { const i = document.querySelector('img.preview'); return i.src !== src && i.complete && i.naturalWidth > 0; }, first);
    const size = await preview.evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`);
    const feed = page.getByRole('log', { name: 'Events, newest first' });
    await feed.locator('li.match', { hasText: 'Lin-Manuel Miranda' }).first().waitFor({ timeout: 30000 });
    const frames = await preview.getAttribute('data-frames');
    step(`preview ${size}, ${frames} frames; match: ${(await feed.locator('li.match').first().innerText()).replace(/\s+/g, ' ')}`);
    await page.screenshot({ path: join(shots, 'live.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(shots, 'live-phone.png'), fullPage: true });
    const liveOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 3).map((e) => e.tagName + '.' + e.className).join(', '));
    assert.ok(liveOverflow <= 1, `live view: no horizontal scrolling at 390 px (overflow ${liveOverflow} px: ${wide})`);
    await page.setViewportSize({ width: 1280, height: 860 });

    step('review queue: one grouped alert for the person, with its sightings, the reference photo and the crop from one media request');
    const aborted = new Set();
    const onFailed = (rq) => { if (/ERR_ABORTED|aborted/i.test(rq.failure()?.errorText || '')) aborted.add(new URL(rq.url()).pathname); };
    page.on('requestfailed', onFailed);
    let mediaReqs = [];
    let imageReqs = [];
    const onRequest = (rq) => {
      const u = new URL(rq.url());
      if (u.pathname === '/v1/alerts/media') mediaReqs.push(u.search);
      else if (/^\/v1\/.*\/(crop|thumbnail)$/.test(u.pathname)) imageReqs.push(u.pathname);
    };
    page.on('request', onRequest);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Review queue' }).click();
    await heading('Review queue').waitFor();
    for (let i = 0; i < 50 && aborted.size < 2; i++) await page.waitForTimeout(100);
    page.off('requestfailed', onFailed);
    assert.deepEqual([...aborted].sort(), ['/v1/events', `/v1/streams/${await streamID()}/preview`], 'leaving the live view stops the preview and the event feed');
    // The clip loops: later sightings of the same person on the same stream attach to the pending alert.
    const pendingFor = async () => ((await (await fetch(`${base}/v1/alerts?status=pending&gallery=${wl.id}`, { headers: auth })).json()).alerts || []);
    let grouped = [];
    for (let i = 0; i < 40; i++) {
      grouped = (await pendingFor()).filter((a) => a.stream_id);
      if (grouped.length && grouped[0].sightings >= 2) break;
      await page.waitForTimeout(500);
    }
    assert.equal(grouped.length, 1, `one pending alert for the person on the stream (${grouped.length})`);
    mediaReqs = [];
    imageReqs = [];
    await page.getByRole('button', { name: 'Filter' }).click(); // reload the queue with the sightings so far
    await heading('Review queue').waitFor();
    const card = page.locator(`li.alert-card[data-id="${grouped[0].id}"]`);
    for (let i = 0; i < 50 && !mediaReqs.length; i++) await page.waitForTimeout(100);
    await card.getByRole('link', { name: 'Lin-Manuel Miranda', exact: true }).waitFor();
    assert.equal(await page.locator('li.alert-card').count(), 1, 'one card: the sightings are grouped');
    await page.waitForFunction(() => ['img.crop:not(.ref)', 'img.crop.ref'].every((q) => { const i = document.querySelector(`li.alert-card ${q}`); return i && i.complete && i.naturalWidth > 0; }));
    const sightings = Number(await card.locator('dd.sightings').innerText());
    assert.ok(sightings >= 1, `the sighting count is shown (${sightings})`);
    await card.getByText(sightings > 1 ? 'Last seen' : 'Seen', { exact: true }).waitFor();
    await card.getByText('stream stage').waitFor();
    assert.equal(mediaReqs.length, 1, `one media request for the page (${mediaReqs.join(' ')})`);
    assert.deepEqual(imageReqs, [], 'no crop or thumbnail fetched one by one');
    page.off('request', onRequest);
    step(`grouped alert: ${sightings} sightings, crop and reference photo from 1 media request`);
    await page.screenshot({ path: join(shots, 'alerts-pending.png'), fullPage: true });

    step('review queue: reject it');
    await card.getByLabel('Note (optional)').fill('different person, checked ID');
    await card.getByRole('button', { name: 'Reject' }).click();
    const reviewed = page.locator('#reviewed');
    await reviewed.getByRole('row', { name: /Lin-Manuel Miranda Rejected .*initial admin different person, checked ID/ }).waitFor();
    assert.equal(await page.locator(`li.alert-card[data-id="${grouped[0].id}"]`).count(), 0, 'the rejected alert left the pending list');
    await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });

    step('the same person’s next true sighting still alerts: a search with the enrolment photo');
    await page.goto(`${base}/galleries/${wl.id}/search`);
    await heading('Search wanted').waitFor();
    await page.getByLabel('Photo to search').setInputFiles(process.env.WATCH_PHOTO);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await result.getByRole('heading', { name: /Face 1: match Lin-Manuel Miranda/ }).waitFor();
    await result.getByText('This match created an alert').waitFor();
    assert.equal(await result.getByText('suppressed').count(), 0, 'the enrolment photo is not suppressed by the rejection');
    await page.screenshot({ path: join(shots, 'search-watchlist.png'), fullPage: true });
    const searchAlerts = (await pendingFor()).filter((a) => !a.stream_id);
    assert.equal(searchAlerts.length, 1, `the search created a pending alert (${searchAlerts.length})`);
    await result.getByRole('link', { name: 'review queue' }).click();
    await heading('Review queue').waitFor();
    const searchCard = page.locator(`li.alert-card[data-id="${searchAlerts[0].id}"]`);
    await searchCard.getByText('a search', { exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    const queueOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(queueOverflow <= 1, `review queue: no horizontal scrolling at 390 px (overflow ${queueOverflow} px)`);
    await page.screenshot({ path: join(shots, 'alerts-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
    step('bulk review: select the search alert and confirm the selection');
    await searchCard.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Confirm selected (1)' }).click();
    await page.locator('#reviewed').getByRole('row', { name: /Lin-Manuel Miranda Confirmed 1\.000/ }).waitFor();
    assert.equal(await page.locator(`li.alert-card[data-id="${searchAlerts[0].id}"]`).count(), 0, 'the confirmed alert left the pending list');

    step('the rejection is listed on the person’s page, and undone');
    await page.goto(watchURL);
    await heading('Lin-Manuel Miranda').waitFor();
    await page.getByRole('heading', { name: 'Rejections (1)' }).waitFor();
    const rejRow = page.locator('#rejections tbody tr').first();
    await rejRow.getByText('different person, checked ID').waitFor();
    await rejRow.getByText('initial admin').waitFor();
    await page.screenshot({ path: join(shots, 'subject-watchlist.png'), fullPage: true });
    // The rejected capture itself, searched again, is suppressed: the search page says so plainly.
    const media = (await (await fetch(`${base}/v1/alerts/media?ids=${grouped[0].id}`, { headers: auth })).json()).media[grouped[0].id] || {};
    if (media.crop) {
      const sfd = new FormData();
      sfd.append('image', new Blob([Buffer.from(media.crop, 'base64')], { type: 'image/jpeg' }), 'capture.jpg');
      const sres = await (await fetch(`${base}/v1/galleries/${wl.id}/search`, { method: 'POST', headers: auth, body: sfd })).json();
      const supp = (sres.faces || []).flatMap((f) => f.candidates || []).find((c) => c.suppressed);
      if (supp) {
        const capture = join(profile, 'capture.jpg');
        writeFileSync(capture, Buffer.from(media.crop, 'base64'));
        await page.goto(`${base}/galleries/${wl.id}/search`);
        await heading('Search wanted').waitFor();
        await page.getByLabel('Photo to search').setInputFiles(capture);
        await page.getByRole('button', { name: 'Search', exact: true }).click();
        await result.getByRole('heading', { name: /Face 1: unknown/ }).waitFor();
        const rejectedOn = await page.evaluate(() => new Date().toLocaleDateString());
        await result.getByText(`suppressed: looks more like a capture rejected on ${rejectedOn} than like the person’s photos`).waitFor();
        step(`the rejected capture searched again: ${(await result.locator('p.suppressed').innerText()).replace(/\s+/g, ' ')}`);
        await page.screenshot({ path: join(shots, 'search-suppressed.png'), fullPage: true });
        await result.getByRole('link', { name: 'the person’s page' }).click();
        await heading('Lin-Manuel Miranda').waitFor();
      } else {
        step(`suppressed search: skipped (the rejected capture searched again was not suppressed: ${JSON.stringify((sres.faces || []).map((f) => f.result))})`);
      }
    }
    await rejRow.getByRole('button', { name: /^Undo the rejection of / }).click();
    await page.locator('#rejections').getByText('Rejection undone').waitFor();
    await page.getByRole('heading', { name: 'Rejections (0)' }).waitFor();
    const subjPath = new URL(watchURL).pathname.replace(/^\/galleries/, '/v1/galleries');
    const left = await (await fetch(`${base}${subjPath}/rejections`, { headers: auth })).json();
    assert.deepEqual(left.rejections, [], 'no rejection left');

    step('watchlist entries past their review date: listed, extended');
    const fd = new FormData();
    fd.append('display_name', 'Joe Biden');
    fd.append('watch', JSON.stringify({ reason: 'end-to-end test: overdue', review_at: new Date(Date.now() - 86400e3).toISOString() }));
    fd.append('image', new Blob([readFileSync(join(images, '..', 'biden', 'biden.jpg'))], { type: 'image/jpeg' }), 'biden.jpg');
    r = await fetch(`${base}/v1/galleries/${wl.id}/subjects`, { method: 'POST', headers: auth, body: fd });
    if (r.status === 201) {
      const biden = (await r.json()).subject;
      await page.goto(base + '/alerts');
      await heading('Review queue').waitFor();
      const od = page.locator('#overdue');
      await od.getByRole('row', { name: /Joe Biden wanted end-to-end test: overdue/ }).waitFor();
      await page.screenshot({ path: join(shots, 'alerts-overdue.png'), fullPage: true });
      await od.getByRole('button', { name: 'Extend Joe Biden' }).click();
      await od.getByText('Joe Biden: next review on').waitFor();
      const after = await (await fetch(`${base}/v1/galleries/${wl.id}/subjects/${biden.id}`, { headers: auth })).json();
      assert.ok(new Date(after.subject.watch.review_at) > new Date(), 'the review date was extended');
    } else {
      step(`overdue list: skipped (the API refuses a past review date: ${r.status} ${await r.text()})`);
    }

    step('audit: verified, with the review decision');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await heading('Audit log').waitFor();
    await page.locator('.verify').getByText('OK', { exact: true }).waitFor();
    await page.getByLabel('Action').fill('POST /v1/alerts/{id}/review');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('row', { name: /POST \/v1\/alerts\/\{id\}\/review .* ok .*decision=rejected/ }).first().waitFor();
    await page.screenshot({ path: join(shots, 'audit.png'), fullPage: true });
    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export as JSON lines/ }).click()]);
    assert.match(jsonl.suggestedFilename(), /\.jsonl$/);

    step('crowd charts: crowd figures every second, then the charts and their table');
    const sid = await streamID();
    const cur = await (await fetch(`${base}/v1/streams/${sid}`, { headers: auth })).json();
    r = await fetch(`${base}/v1/streams/${sid}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: cur.name, source: cur.source, gallery: cur.gallery, fps: cur.fps, loop: cur.loop, no_realtime: cur.no_realtime, crowd_interval_seconds: 1,
        zones: [{ name: 'whole frame', points: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] }],
        lines: [{ name: 'middle', from: { x: 0.5, y: 0 }, to: { x: 0.5, y: 1 } }] }) });
    assert.equal(r.status, 200, `setting a 1 s crowd interval: ${r.status} ${await r.clone().text()}`);
    await page.goto(`${base}/streams/${sid}`);
    await heading('Live: stage').waitFor();
    await page.getByRole('link', { name: 'Crowd charts of stage' }).click();
    await heading('Crowd: stage').waitFor();
    const crowdRows = () => page.getByRole('table', { name: 'Crowd figures per interval' }).locator('tbody tr').count();
    for (let i = 0; i < 20 && (await crowdRows()) < 3; i++) { // three 1 s intervals after the restart
      await page.waitForTimeout(500);
      await page.getByRole('button', { name: 'Refresh' }).click();
    }
    await page.getByRole('table', { name: 'Crowd figures per interval' }).waitFor();
    assert.ok((await crowdRows()) >= 3, `at least three crowd intervals (${await crowdRows()})`);
    assert.equal(await page.locator('figure.chart svg').count(), 4, 'four charts (faces, tracks, dwell, dwell distribution)');
    await page.getByRole('table', { name: 'Dwell distribution' }).waitFor();
    await page.getByRole('table', { name: 'Zones over the period' }).getByRole('row', { name: /whole frame/ }).waitFor();
    await page.getByRole('table', { name: 'Line crossings over the period' }).getByRole('row', { name: /middle/ }).waitFor();
    const heat = page.getByRole('img', { name: /Heatmap of where faces were in the frame: [1-9]\d* face-frames/ });
    await heat.waitFor();
    assert.equal(await heat.evaluate((el) => el.complete && el.naturalWidth), 640, 'the heatmap PNG loads, 640 pixels wide');
    await page.getByLabel('Period').selectOption({ label: 'Last hour' });
    await page.getByRole('table', { name: 'Crowd figures per interval' }).waitFor();
    await heat.waitFor(); // the reloaded heatmap, for the screenshot
    step(`crowd: ${await page.locator('.charts').locator('xpath=preceding-sibling::p[1]').innerText()}`);
    await page.screenshot({ path: join(shots, 'crowd.png'), fullPage: true });

    step('streams: edit, then remove with confirmation');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Streams' }).click();
    await page.getByRole('link', { name: 'Edit stage' }).click();
    await heading('Edit stage').waitFor();
    assert.equal(await page.getByLabel('Loop: start a file again at its end').isChecked(), true, 'the form shows the stored configuration');
    await page.getByLabel('Frames analysed per second').fill('40');
    await page.getByRole('button', { name: 'Save and restart' }).click();
    await page.getByText('Enter a number of frames per second above 0 and at most 30.').waitFor();
    await page.getByLabel('Frames analysed per second').fill('4');
    await page.getByRole('button', { name: 'Save and restart' }).click();
    await heading('Streams').waitFor();
    const stored = await (await fetch(base + '/v1/streams', { headers: auth })).json();
    assert.equal(stored.streams[0].fps, 4, 'the edit was saved');
    assert.equal(stored.streams[0].loop, true, 'the edit kept loop');
    await page.getByRole('button', { name: 'Remove stage…' }).click();
    await page.getByRole('button', { name: 'Yes, remove stage' }).click();
    await page.getByText('There are no streams yet').waitFor();
  } else {
    step('streams, live view, review queue and audit: skipped (no ffmpeg or no clip)');
  }

  step('settings: create a key (secret shown once), revoke it, change a gallery, see the deployment');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await heading('Settings').waitFor();
  await page.getByRole('cell', { name: 'Active (this key)' }).waitFor();
  await page.getByLabel('Key name').fill('door-2');
  await page.getByLabel('Role').selectOption('device');
  await page.getByRole('button', { name: 'Create key' }).click();
  const newSecret = await page.getByLabel('Secret', { exact: true }).inputValue();
  assert.match(newSecret, /^fg_\S{20,}$/, 'the new secret is shown');
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('row', { name: /door-2 device/ }).waitFor();
  let me2 = await fetch(base + '/v1/me', { headers: { Authorization: `Bearer ${newSecret}` } });
  assert.equal(me2.status, 200, 'the new key works');
  await page.getByRole('button', { name: 'Revoke door-2…' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click(); // cancelling revokes nothing
  await page.getByRole('button', { name: 'Revoke door-2…' }).click();
  await page.getByRole('button', { name: 'Yes, revoke door-2' }).click();
  await page.getByRole('row', { name: /door-2 device .* Revoked/ }).waitFor();
  me2 = await fetch(base + '/v1/me', { headers: { Authorization: `Bearer ${newSecret}` } });
  assert.equal(me2.status, 401, 'the revoked key is refused');
  const staffForm = page.getByRole('form', { name: 'Gallery staff' });
  await staffForm.getByLabel('Or a target false match rate (optional)').fill('1e-4');
  await staffForm.getByLabel('Retention (days)').fill('30');
  await staffForm.getByRole('button', { name: 'Save staff' }).click();
  await staffForm.getByText(/Saved: threshold [0-9.]+ \(target false match rate 0.0001\), retention 30 days/).waitFor();
  await page.getByLabel('Age', { exact: true }).check();
  await page.getByRole('button', { name: 'Save inferences' }).click();
  await page.getByText('Saved: age enabled.').waitFor();
  const meNow = await (await fetch(base + '/v1/me', { headers: { Authorization: `Bearer ${adminKey}` } })).json();
  assert.deepEqual(meNow.inferences, ['age'], 'age inference switched on from the console');
  await page.getByText('--audit-key FILE').waitFor();
  await page.screenshot({ path: join(shots, 'settings.png'), fullPage: true });
  const staff = await (await fetch(base + '/v1/galleries/staff', { headers: { Authorization: `Bearer ${adminKey}` } })).json();
  assert.equal(staff.retention_days, 30, 'the retention is stored');
  assert.equal(staff.fmr, 1e-4, 'the target FMR is stored');

  step('an operator key: streams and review queue, no audit, no stream changes');
  const opRes = await fetch(base + '/v1/keys', { method: 'POST', headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'reviewer', role: 'operator' }) });
  assert.equal(opRes.status, 201, `creating an operator key: ${opRes.status}`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading('Sign in').waitFor();
  await page.getByLabel('API key').fill((await opRes.json()).secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.role', { hasText: 'operator' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Audit' }).count(), 0, 'no Audit link for an operator key');
  assert.equal(await nav.getByRole('link', { name: 'Settings' }).count(), 0, 'no Settings link for an operator key');
  await nav.getByRole('link', { name: 'Review queue' }).waitFor();
  await nav.getByRole('link', { name: 'Streams' }).click();
  await heading('Streams').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Add a stream' }).count(), 0, 'no stream creation for an operator key');
  await page.goto(base + '/audit');
  await page.getByText('Your key’s role (operator) may not read the audit log.').waitFor();

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
  for (const n of ['Streams', 'Review queue', 'Audit']) {
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: n }).count(), 0, `no ${n} link for a device key`);
  }

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
