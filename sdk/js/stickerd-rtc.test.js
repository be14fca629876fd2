// Unit tests of the SDK's parts that need no browser: node --test.
// The whole SDK runs in Chromium in services/webui/live's browser test.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ControlChannel, StickerdError, Trickler, iceCredentials, problemOf, sdpFragment, sessionsEndpoint,
} from './stickerd-rtc.js';

/** fakeChannel is an open RTCDataChannel that records what is sent. */
function fakeChannel() {
  const dc = new EventTarget();
  Object.assign(dc, { readyState: 'open', sent: [], send(s) { this.sent.push(JSON.parse(s)); } });
  dc.reply = (msg) => {
    const ev = new Event('message');
    ev.data = JSON.stringify(msg);
    dc.dispatchEvent(ev);
  };
  return dc;
}

function control(timeoutMs = 1000) {
  const seen = { acks: [], stats: [], unprompted: [] };
  const dc = fakeChannel();
  const c = new ControlChannel(dc, timeoutMs, {
    onAck: (id) => seen.acks.push(id),
    onStats: (s) => seen.stats.push(s),
    onUnprompted: (e) => seen.unprompted.push(e),
  });
  return { c, dc, seen };
}

test('ControlChannel resolves on the ack and rejects on the error, in order', async () => {
  const { c, dc, seen } = control();
  const add = c.request('s1', { op: 'add', id: 's1', sticker: { type: 'image', builtin: 'heart' } });
  const bad = c.request('s2', { op: 'update', id: 's2', x: 7 });
  const clear = c.request('', { op: 'clear' });
  assert.deepEqual(dc.sent.map((m) => m.op), ['add', 'update', 'clear']);
  dc.reply({ op: 'ack', id: 's1' });
  dc.reply({ op: 'error', id: 's2', code: 'SPEC_INVALID', message: 'x: must be 0 to 1', field: 'x' });
  dc.reply({ op: 'ack' });
  await add;
  await clear;
  await assert.rejects(bad, (err) => err instanceof StickerdError && err.code === 'SPEC_INVALID' &&
    err.id === 's2' && err.field === 'x' && err.message === 'x: must be 0 to 1');
  assert.deepEqual(seen.acks, ['s1']);
  assert.deepEqual(seen.unprompted, []);
});

test('ControlChannel: an error without an id answers the oldest request', async () => {
  const { c, dc } = control();
  const big = c.request('s1', { op: 'add', id: 's1' });
  const next = c.request('s2', { op: 'remove', id: 's2' });
  dc.reply({ op: 'error', code: 'SPEC_INVALID', message: 'message is 20000 bytes, at most 16384' });
  dc.reply({ op: 'ack', id: 's2' });
  await assert.rejects(big, { code: 'SPEC_INVALID' });
  await next;
});

test('ControlChannel: media errors and stats are not answers', async () => {
  const { c, dc, seen } = control();
  const p = c.request('s1', { op: 'remove', id: 's1' });
  dc.reply({ op: 'error', code: 'RTC_MEDIA_FAILED', message: 'the video could not be decoded' });
  dc.reply({ op: 'stats', fps: 29.5, latency_ms_p50: 4.2, latency_ms_p95: 9.9, frames_dropped: 3 });
  dc.reply({ op: 'ack', id: 's1' });
  await p;
  assert.deepEqual(seen.unprompted, [{ code: 'RTC_MEDIA_FAILED', message: 'the video could not be decoded' }]);
  assert.deepEqual(seen.stats, [{ fps: 29.5, latency_ms_p50: 4.2, latency_ms_p95: 9.9, frames_dropped: 3 }]);
});

test('ControlChannel: a timed-out request keeps its place in line', async () => {
  const { c, dc } = control(20);
  const slow = c.request('s1', { op: 'add', id: 's1' });
  await assert.rejects(slow, { code: 'TIMEOUT' });
  const next = c.request('s2', { op: 'add', id: 's2' });
  dc.reply({ op: 'error', id: 's1', code: 'ASSET_NOT_FOUND', message: 'late' }); // s1's late answer
  dc.reply({ op: 'ack', id: 's2' });
  await next;
});

test('ControlChannel: fail rejects waiting and later requests', async () => {
  const { c, dc } = control();
  const p = c.request('s1', { op: 'remove', id: 's1' });
  c.fail(new StickerdError('CLOSED', 'the session is closed'));
  await assert.rejects(p, { code: 'CLOSED' });
  await assert.rejects(c.request('s2', { op: 'clear' }), { code: 'CLOSED' });
  assert.equal(dc.sent.length, 1);
  const { c: c2, dc: dc2 } = control();
  dc2.readyState = 'closing';
  await assert.rejects(c2.request('s1', { op: 'clear' }), { code: 'CLOSED' });
});

test('Trickler waits for the session, then sends candidates in order and ends once', async () => {
  const sent = [];
  const t = new Trickler(async (frag) => { sent.push(frag); });
  t.add({ candidate: 'candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host' });
  t.add({ candidate: '' }); // end of a generation: skipped
  assert.equal(sent.length, 0);
  t.start('uf', 'pw', '0');
  await t.flush();
  t.add({ candidate: 'candidate:2 1 udp 2122260223 192.0.2.3 50001 typ host' });
  t.add(null);
  await new Promise((r) => setTimeout(r, 10));
  const all = sent.join('');
  assert.match(sent[0], /^a=ice-ufrag:uf\r\na=ice-pwd:pw\r\nm=video 9 UDP\/TLS\/RTP\/SAVPF 0\r\na=mid:0\r\n/);
  assert.ok(all.indexOf('192.0.2.2') < all.indexOf('192.0.2.3'));
  assert.equal(all.split('a=end-of-candidates').length - 1, 1);
});

test('sdpFragment is an RFC 8840 fragment', () => {
  assert.equal(sdpFragment('u', 'p', '0', ['candidate:1 1 udp 1 127.0.0.1 9 typ host'], true),
    'a=ice-ufrag:u\r\na=ice-pwd:p\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n' +
    'a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n');
});

test('iceCredentials reads the offer', () => {
  const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n' +
    'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\na=mid:0\r\n' +
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n';
  assert.deepEqual(iceCredentials(sdp), { ufrag: 'abcd', pwd: 'secretsecretsecretsecret', mid: '0' });
});

test('sessionsEndpoint accepts a server or the endpoint', () => {
  assert.equal(sessionsEndpoint('https://edge.example'), 'https://edge.example/v1/rtc/sessions');
  assert.equal(sessionsEndpoint('https://edge.example/'), 'https://edge.example/v1/rtc/sessions');
  assert.equal(sessionsEndpoint('https://edge.example/v1/rtc/sessions/'), 'https://edge.example/v1/rtc/sessions');
  assert.equal(sessionsEndpoint('https://gw.example/tenant-a'), 'https://gw.example/tenant-a/v1/rtc/sessions');
  assert.equal(sessionsEndpoint(''), 'http://localhost/v1/rtc/sessions'); // this page's origin in a browser
});

test('problemOf reads problem+json and Retry-After', async () => {
  const resp = new Response(JSON.stringify({ type: 'urn:stickerd:error:RATE_LIMITED', title: 'Too Many Requests', status: 429,
    detail: 'too many realtime sessions open for this tenant', code: 'RATE_LIMITED',
    instance: '/v1/rtc/sessions', errors: [] }),
  { status: 429, headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '5' } });
  const err = await problemOf(resp);
  assert.equal(err.code, 'RATE_LIMITED');
  assert.equal(err.status, 429);
  assert.equal(err.retryAfter, 5);
  assert.equal(err.message, 'too many realtime sessions open for this tenant');

  const plain = await problemOf(new Response('bad gateway', { status: 502 }));
  assert.equal(plain.code, 'INTERNAL');
  assert.equal(plain.message, 'bad gateway');
  assert.equal((await problemOf(new Response('', { status: 401 }))).code, 'UNAUTHORIZED');
  assert.equal((await problemOf(new Response('', { status: 503 }))).code, 'RTC_MEDIA_FAILED');
  assert.equal((await problemOf(new Response('', { status: 422 }))).code, 'RTC_NEGOTIATION_FAILED');
  assert.equal((await problemOf(new Response('', { status: 400 }))).code, 'SPEC_INVALID');

  const bad = await problemOf(new Response(JSON.stringify({ type: 'urn:stickerd:error:SPEC_INVALID', title: 'Bad Request',
    status: 400, detail: 'the body is not an SDP offer', code: 'SPEC_INVALID', instance: '/v1/rtc/sessions', errors: [] }),
  { status: 400, headers: { 'Content-Type': 'application/problem+json' } }));
  assert.equal(bad.code, 'SPEC_INVALID');
  assert.equal(bad.field, '');
});
