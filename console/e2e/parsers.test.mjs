// Unit test of the console's stream readers (readMJPEG, readSSE in ../assets/app.js) with the body split into
// chunks of every size from 1 byte: parts and events must come out whole and in order. Run by
// console/parsers_test.go (TestStreamParsers) with node; app.js is a browser module, so the functions are cut out
// of its text by name and run on their own.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const src = readFileSync(fileURLToPath(new URL('../assets/app.js', import.meta.url)), 'utf8');
const grab = (name) => {
  const m = src.match(new RegExp(`(async )?function ${name}\\([\\s\\S]*?\\n}\\n`));
  assert.ok(m, `app.js defines ${name}`);
  return m[0];
};
const { readMJPEG, readSSE } = new Function([grab('indexOf'), grab('readMJPEG'), grab('readSSE')].join('\n') + '\nreturn { readMJPEG, readSSE };')();
const enc = new TextEncoder();
function resOf(bytes, ct, step) {
  let i = 0;
  const body = new ReadableStream({ pull(c) { if (i >= bytes.length) return c.close(); c.enqueue(bytes.slice(i, i + step)); i += step; } });
  return { headers: new Headers({ 'Content-Type': ct }), body };
}
const jpgs = [new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]), new Uint8Array([0xff, 0xd8, 45, 45, 0xff, 0xd9])];
for (const withLen of [true, false]) {
  const parts = [];
  for (const j of jpgs) { parts.push(enc.encode(`--fb\r\nContent-Type: image/jpeg\r\n${withLen ? `Content-Length: ${j.length}\r\n` : ''}\r\n`), j, enc.encode('\r\n')); }
  if (!withLen) parts.push(enc.encode('--fb\r\n'));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { all.set(p, o); o += p.length; }
  for (const step of [1, 2, 3, 7, 1000]) {
    const got = [];
    await readMJPEG(resOf(all, 'multipart/x-mixed-replace; boundary=fb', step), (f) => got.push([...f].join(',')));
    const want = jpgs.map((j) => [...j].join(','));
    if (JSON.stringify(got) !== JSON.stringify(want)) assert.fail(`MJPEG, Content-Length ${withLen}, chunks of ${step}: ${JSON.stringify(got)}`);
  }
}
const sse = enc.encode(': ping\n\nid: 1\nevent: match\ndata: {"a":1}\n\r\nid: 2\r\nevent: crowd\r\ndata: x\r\ndata: y\r\n\r\n');
for (const step of [1, 2, 5, 1000]) {
  const got = [];
  await readSSE(resOf(sse, 'text/event-stream', step), (e) => got.push(e));
  const want = [{ id: '1', event: 'match', data: '{"a":1}' }, { id: '2', event: 'crowd', data: 'x\ny' }];
  if (JSON.stringify(got) !== JSON.stringify(want)) assert.fail(`SSE, chunks of ${step}: ${JSON.stringify(got)}`);
}
console.log('stream readers: ok');
