// @ts-check
// stickerd realtime SDK for browsers: send the camera to a stickerd edge over
// WebRTC, get it back with stickers composited, and add, move and remove the
// stickers live over the "control" data channel (docs/api.md, "Realtime
// data channel"). One ES module, no dependencies, no build step. It has the
// shape of the Go SDK (sdk/go/rtc).

/** The signaling endpoint (docs/api.md). */
export const SESSIONS_PATH = '/v1/rtc/sessions';
/** The label of the sticker control data channel. */
export const CONTROL_LABEL = 'control';

const DEFAULT_CONNECT_TIMEOUT_MS = 15000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10000;
const DELETE_TIMEOUT_MS = 3000;

/**
 * @typedef {object} StickerdErrorInfo
 * @property {string} code the contract's error code ("SPEC_INVALID",
 *   "RTC_NEGOTIATION_FAILED", "RATE_LIMITED", …), or one of the client's own:
 *   "TIMEOUT", "CLOSED", "NETWORK_ERROR".
 * @property {string} message what went wrong, for people.
 */

/**
 * @typedef {object} Stats the edge's once-a-second view of the session.
 * @property {number} fps frames per second the edge sends back.
 * @property {number} latency_ms_p50 edge processing time per frame, median, ms.
 * @property {number} latency_ms_p95 the same, 95th percentile, ms.
 * @property {number} frames_dropped frames dropped since the session started.
 */

/**
 * @typedef {object} ConnectOptions
 * @property {string} [apiKey] sent as `Authorization: Bearer` on signaling.
 * @property {RTCIceServer[]} [iceServers] STUN/TURN servers; none by default.
 * @property {boolean} [trickle] trickle ICE candidates with PATCH (default
 *   true); false waits for every candidate and sends them in the offer.
 * @property {number} [connectTimeoutMs] bounds connect() (default 15000).
 * @property {number} [requestTimeoutMs] bounds each sticker op (default 10000).
 * @property {() => void} [onConnected] media and the control channel are up.
 * @property {(remote: MediaStream) => void} [onTrack] the stickered video;
 *   set it as a <video>'s srcObject.
 * @property {(id: string) => void} [onStickerAck] the edge applied an op on
 *   the sticker id.
 * @property {(stats: Stats) => void} [onStats] the edge's stats, once a second.
 * @property {(err: StickerdErrorInfo) => void} [onError] signaling failures
 *   and errors the edge sends unprompted (RTC_MEDIA_FAILED). An error that
 *   answers a sticker op rejects that op's promise instead.
 * @property {(reason: string) => void} [onDisconnected] called once when the
 *   session ends: "closed" after close(), otherwise why it ended.
 */

/** StickerdError is a failure with the contract's error code. */
export class StickerdError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{status?: number, id?: string, field?: string,
   *   errors?: {field: string, message: string}[], retryAfter?: number}} [more]
   */
  constructor(code, message, more = {}) {
    super(message);
    this.name = 'StickerdError';
    /** The contract's error code, or TIMEOUT, CLOSED, NETWORK_ERROR. */
    this.code = code;
    /** HTTP status of a signaling failure; 0 otherwise. */
    this.status = more.status || 0;
    /** The sticker a control error is about, if any. */
    this.id = more.id || '';
    /** The first invalid field's path ("sticker.width"), if any. */
    this.field = more.field || '';
    /** Every invalid field. */
    this.errors = more.errors || [];
    /** Seconds to wait before retrying (429 and 503); 0 if not given. */
    this.retryAfter = more.retryAfter || 0;
  }
}

/**
 * connect offers a session to the stickerd gateway or edge at url and
 * resolves once video and the control channel are up.
 *
 * @param {string} url the server ("https://stickerd.example", "" for this
 *   page's origin) or the full sessions endpoint ("…/v1/rtc/sessions").
 * @param {MediaStream} mediaStream the camera; its first video track is sent.
 * @param {ConnectOptions} [options]
 * @returns {Promise<Session>}
 */
export async function connect(url, mediaStream, options = {}) {
  const track = mediaStream && mediaStream.getVideoTracks()[0];
  if (!track) {
    throw new StickerdError('RTC_NEGOTIATION_FAILED', 'the media stream has no video track');
  }
  const session = new Session(sessionsEndpoint(url), options);
  try {
    await session._negotiate(mediaStream, track);
  } catch (err) {
    const e = asStickerdError(err);
    session._abort();
    if (e.code !== 'CLOSED') notify(options.onError, { code: e.code, message: e.message });
    throw e;
  }
  notify(options.onConnected);
  return session;
}

/**
 * Session is a live realtime session. Create it with connect().
 */
export class Session {
  /**
   * @param {string} endpoint absolute URL of the sessions endpoint.
   * @param {ConnectOptions} options
   */
  constructor(endpoint, options) {
    /** @private */ this._endpoint = endpoint;
    /** @private */ this._opts = options;
    /** The session's URL on the server (its Location), once created. */
    this.location = '';
    /** The session id ("rtc_…"), once created. */
    this.id = '';
    /** The stickered video coming back, once it arrives. @type {MediaStream | null} */
    this.remoteStream = null;
    /** The latest stats message. @type {Stats | null} */
    this.stats = null;
    /** Whether the session has ended. */
    this.closed = false;
    /** @private @type {string | null} */ this._endReason = null;
    /** The peer connection, for getStats() and the like. */
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: options.iceServers || [] });
    /** @private */ this._dc = this.pc.createDataChannel(CONTROL_LABEL, { ordered: true });
    /** @private */ this._control = new ControlChannel(this._dc, options.requestTimeoutMs || DEFAULT_REQUEST_TIMEOUT_MS, {
      onAck: (id) => notify(options.onStickerAck, id),
      onStats: (s) => { this.stats = s; notify(options.onStats, s); },
      onUnprompted: (e) => notify(options.onError, e),
    });
    /** @private */ this._trickler = new Trickler((frag) => this._patch(frag));
  }

  /**
   * addSticker adds a sticker (or replaces the one with this id). sticker has
   * the fields of a spec sticker without start and end, e.g.
   * {type: "image", builtin: "heart", x: 0.5, y: 0.5, width: 0.2}.
   * Resolves on the edge's ack; rejects with a StickerdError on its error.
   * @param {string} id 1 to 64 letters, digits or _ . : -
   * @param {object} sticker
   * @returns {Promise<void>}
   */
  addSticker(id, sticker) {
    return this._control.request(id, { op: 'add', id, sticker });
  }

  /**
   * updateSticker changes a sticker's x, y, width, rotation or opacity (text
   * stickers also text, color, size, stroke_color, stroke_width, background).
   * @param {string} id
   * @param {object} fields
   * @returns {Promise<void>}
   */
  updateSticker(id, fields) {
    return this._control.request(id, { ...fields, op: 'update', id });
  }

  /**
   * removeSticker removes one sticker.
   * @param {string} id
   * @returns {Promise<void>}
   */
  removeSticker(id) {
    return this._control.request(id, { op: 'remove', id });
  }

  /**
   * clear removes every sticker.
   * @returns {Promise<void>}
   */
  clear() {
    return this._control.request('', { op: 'clear' });
  }

  /**
   * close ends the session: it tells the server (DELETE) and closes the peer
   * connection. The camera's tracks are the caller's and keep running. Safe
   * to call more than once.
   * @returns {Promise<void>}
   */
  async close() {
    if (this.closed) return;
    const location = this.location;
    this._end('closed');
    if (location) {
      await this._fetch('DELETE', location, null, '', DELETE_TIMEOUT_MS).catch(() => {
        // The edge closes sessions that fall silent anyway.
      });
    }
  }

  /**
   * @private
   * @param {MediaStream} stream
   * @param {MediaStreamTrack} track
   */
  async _negotiate(stream, track) {
    const pc = this.pc;
    const deadline = this._opts.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS;
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    preferVP8(transceiver);

    const up = this._connected();
    up.catch(() => {}); // awaited below; a failure before that is reported by the step that failed
    pc.addEventListener('track', (ev) => {
      if (ev.track.kind !== 'video' || this.remoteStream) return;
      this.remoteStream = ev.streams[0] || new MediaStream([ev.track]);
      notify(this._opts.onTrack, this.remoteStream);
    });
    const trickle = this._opts.trickle !== false;
    if (trickle) {
      pc.addEventListener('icecandidate', (ev) => this._trickler.add(ev.candidate));
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (!trickle) await withTimeout(gatheringComplete(pc), deadline, 'ICE candidate gathering timed out');
    const offer = /** @type {RTCSessionDescription} */ (pc.localDescription).sdp;

    const resp = await this._fetch('POST', this._endpoint, offer, 'application/sdp', deadline);
    if (resp.status !== 201 && resp.status !== 200) throw await problemOf(resp);
    const location = resp.headers.get('Location');
    if (!location) {
      throw new StickerdError('RTC_NEGOTIATION_FAILED', 'the answer has no Location header (cross-origin? expose it with Access-Control-Expose-Headers)');
    }
    this.location = new URL(location, this._endpoint).href;
    this.id = this.location.replace(/\/+$/, '').split('/').pop() || '';
    const answer = await resp.text();
    if (this.closed) throw closedError();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    if (trickle) {
      const cred = iceCredentials(offer);
      this._trickler.start(cred.ufrag, cred.pwd, cred.mid);
    }
    await withTimeout(up, deadline, 'the connection did not come up in time');
  }

  /**
   * _connected resolves once the peer connection and the control channel are
   * both up, and rejects when either fails first; later failures end the
   * session.
   * @private
   * @returns {Promise<void>}
   */
  _connected() {
    const pc = this.pc;
    const dc = this._dc;
    return new Promise((resolve, reject) => {
      let live = false;
      const check = () => {
        if (!live && pc.connectionState === 'connected' && dc.readyState === 'open') {
          live = true;
          resolve();
        }
      };
      /** @param {string} reason */
      const failed = (reason) => {
        if (live) this._end(reason);
        else reject(new StickerdError('RTC_NEGOTIATION_FAILED', reason));
      };
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'failed') failed('the connection failed');
        else if (pc.connectionState === 'closed') failed('the connection closed');
        else check();
      });
      dc.addEventListener('open', check);
      dc.addEventListener('close', () => failed('the edge closed the session'));
    });
  }

  /**
   * _end tears the session down once, without telling the server.
   * @private
   * @param {string} reason
   */
  _end(reason) {
    if (this.closed) return;
    this.closed = true;
    this._endReason = reason;
    this._trickler.stop();
    this._control.fail(closedError());
    try { this._dc.close(); } catch { /* already closed */ }
    try { this.pc.close(); } catch { /* already closed */ }
    notify(this._opts.onDisconnected, reason);
  }

  /**
   * _abort ends a session that never connected: no callbacks, DELETE if it
   * was created.
   * @private
   */
  _abort() {
    const location = this.location;
    this.closed = true;
    this._trickler.stop();
    this._control.fail(closedError());
    try { this.pc.close(); } catch { /* already closed */ }
    if (location) this._fetch('DELETE', location, null, '', DELETE_TIMEOUT_MS).catch(() => {});
  }

  /**
   * _patch sends one trickle-ice-sdpfrag to the session.
   * @private
   * @param {string} frag
   */
  async _patch(frag) {
    const resp = await this._fetch('PATCH', this.location, frag, 'application/trickle-ice-sdpfrag', DEFAULT_REQUEST_TIMEOUT_MS);
    if (!resp.ok) throw await problemOf(resp);
  }

  /**
   * @private
   * @param {string} method
   * @param {string} url
   * @param {string | null} body
   * @param {string} contentType
   * @param {number} timeoutMs
   * @returns {Promise<Response>}
   */
  async _fetch(method, url, body, contentType, timeoutMs) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (contentType) headers['Content-Type'] = contentType;
    if (method === 'POST') headers.Accept = 'application/sdp, application/problem+json';
    if (this._opts.apiKey) headers.Authorization = `Bearer ${this._opts.apiKey}`;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      return await fetch(url, { method, headers, body, signal: ctl.signal, keepalive: method === 'DELETE', credentials: 'same-origin' });
    } catch (err) {
      const what = ctl.signal.aborted ? 'timed out' : `failed: ${err instanceof Error ? err.message : err}`;
      throw new StickerdError(ctl.signal.aborted ? 'TIMEOUT' : 'NETWORK_ERROR', `${method} ${url} ${what}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * @typedef {object} Pending one control message waiting for its reply.
 * @property {string} id
 * @property {(v: void) => void} resolve
 * @property {(e: Error) => void} reject
 * @property {boolean} settled
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 */

/**
 * ControlChannel matches the edge's replies to requests. The edge answers
 * every message exactly once and in order, so the oldest waiting request is
 * the one answered; the reply's id confirms it. A request that timed out
 * stays in line, so that its late reply does not settle the next one.
 */
export class ControlChannel {
  /**
   * @param {RTCDataChannel} dc
   * @param {number} timeoutMs
   * @param {{onAck: (id: string) => void, onStats: (s: Stats) => void,
   *   onUnprompted: (e: StickerdErrorInfo) => void}} hooks
   */
  constructor(dc, timeoutMs, hooks) {
    this.dc = dc;
    this.timeoutMs = timeoutMs;
    this.hooks = hooks;
    /** @type {Pending[]} */
    this.pending = [];
    /** @type {Error | null} */
    this.err = null;
    dc.addEventListener('message', (ev) => this.onMessage(ev.data));
  }

  /**
   * request sends msg and resolves on its ack.
   * @param {string} id
   * @param {object} msg
   * @returns {Promise<void>}
   */
  request(id, msg) {
    if (this.err) return Promise.reject(this.err);
    if (this.dc.readyState !== 'open') return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      /** @type {Pending} */
      const p = { id, resolve, reject, settled: false, timer: undefined };
      try {
        this.dc.send(JSON.stringify(msg));
      } catch (err) {
        reject(new StickerdError('CLOSED', `sending a control message failed: ${err instanceof Error ? err.message : err}`));
        return;
      }
      this.pending.push(p);
      p.timer = setTimeout(() => settle(p, new StickerdError('TIMEOUT',
        `no answer from the edge in ${this.timeoutMs} ms`, { id })), this.timeoutMs);
    });
  }

  /** @param {unknown} data */
  onMessage(data) {
    if (typeof data !== 'string') return;
    /** @type {any} */
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (!m || typeof m !== 'object') return;
    const id = typeof m.id === 'string' ? m.id : '';
    switch (m.op) {
      case 'stats':
        this.hooks.onStats({
          fps: num(m.fps), latency_ms_p50: num(m.latency_ms_p50),
          latency_ms_p95: num(m.latency_ms_p95), frames_dropped: num(m.frames_dropped),
        });
        return;
      case 'ack':
        if (id) this.hooks.onAck(id);
        settle(this.take(id));
        return;
      case 'error': {
        const code = String(m.code || 'INTERNAL');
        const message = String(m.message || code);
        if (code === 'RTC_MEDIA_FAILED') { // about the video, not an answer
          this.hooks.onUnprompted({ code, message });
          return;
        }
        const p = this.take(id);
        if (!p) {
          this.hooks.onUnprompted({ code, message });
          return;
        }
        settle(p, new StickerdError(code, message, {
          id, field: typeof m.field === 'string' ? m.field : '', errors: Array.isArray(m.errors) ? m.errors : [],
        }));
      }
    }
  }

  /**
   * take removes and returns the request a reply about id answers.
   * @param {string} id
   * @returns {Pending | undefined}
   */
  take(id) {
    let i = 0;
    // A reply without an id (a message refused before its id was read)
    // answers the oldest; one with an id should too, but look it up rather
    // than settle the wrong promise.
    if (id && this.pending.length > 0 && this.pending[0].id !== id) {
      i = this.pending.findIndex((p) => p.id === id);
      if (i < 0) return undefined;
    }
    return this.pending.splice(i, 1)[0];
  }

  /**
   * fail rejects every waiting request and every later one with err.
   * @param {Error} err
   */
  fail(err) {
    this.err = this.err || err;
    for (const p of this.pending.splice(0)) settle(p, err);
  }
}

/**
 * settle resolves p, or rejects it with err, once.
 * @param {Pending | undefined} p
 * @param {Error} [err]
 */
function settle(p, err) {
  if (!p || p.settled) return;
  p.settled = true;
  clearTimeout(p.timer);
  if (err) p.reject(err);
  else p.resolve();
}

/**
 * Trickler PATCHes local ICE candidates to the session in order, once the
 * session exists; candidates found before that wait.
 */
export class Trickler {
  /** @param {(frag: string) => Promise<void>} send */
  constructor(send) {
    this.send = send;
    /** @type {string[]} */
    this.queue = [];
    this.end = false;
    this.sentEnd = false;
    this.busy = false;
    this.stopped = false;
    /** @type {{ufrag: string, pwd: string, mid: string} | null} */
    this.cred = null;
  }

  /** @param {RTCIceCandidate | null} c the icecandidate event's candidate. */
  add(c) {
    if (c === null) this.end = true;
    else if (c.candidate) this.queue.push(c.candidate);
    this.flush();
  }

  /**
   * start begins sending, now that the session has a Location.
   * @param {string} ufrag
   * @param {string} pwd
   * @param {string} mid
   */
  start(ufrag, pwd, mid) {
    this.cred = { ufrag, pwd, mid };
    this.flush();
  }

  stop() { this.stopped = true; }

  async flush() {
    if (this.busy || !this.cred) return;
    this.busy = true;
    try {
      while (!this.stopped && (this.queue.length > 0 || (this.end && !this.sentEnd))) {
        const cands = this.queue.splice(0);
        const end = this.end;
        this.sentEnd = end;
        // A refused candidate is not fatal: the others may still connect.
        await this.send(sdpFragment(this.cred.ufrag, this.cred.pwd, this.cred.mid, cands, end)).catch(() => {});
      }
    } finally {
      this.busy = false;
    }
  }
}

/**
 * sdpFragment builds an application/trickle-ice-sdpfrag body (RFC 8840).
 * @param {string} ufrag
 * @param {string} pwd
 * @param {string} mid
 * @param {string[]} candidates "candidate:…" lines without "a="
 * @param {boolean} end
 * @returns {string}
 */
export function sdpFragment(ufrag, pwd, mid, candidates, end) {
  let s = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n`;
  for (const c of candidates) s += `a=${c.replace(/^a=/, '')}\r\n`;
  if (end) s += 'a=end-of-candidates\r\n';
  return s;
}

/**
 * iceCredentials reads the ufrag, pwd and first mid of an SDP.
 * @param {string} sdp
 * @returns {{ufrag: string, pwd: string, mid: string}}
 */
export function iceCredentials(sdp) {
  /** @param {string} key */
  const find = (key) => {
    const m = sdp.match(new RegExp(`^a=${key}:(.*)$`, 'm'));
    return m ? m[1].trim() : '';
  };
  return { ufrag: find('ice-ufrag'), pwd: find('ice-pwd'), mid: find('mid') || '0' };
}

/**
 * sessionsEndpoint turns connect's url into the absolute sessions endpoint.
 * @param {string} url
 * @returns {string}
 */
export function sessionsEndpoint(url) {
  const base = typeof location !== 'undefined' ? location.href : 'http://localhost/';
  const u = new URL(url || '/', base);
  const path = u.pathname.replace(/\/+$/, '');
  if (!path.endsWith(SESSIONS_PATH)) u.pathname = path + SESSIONS_PATH;
  else u.pathname = path;
  u.search = '';
  u.hash = '';
  return u.href;
}

/**
 * preferVP8 puts VP8 first in the transceiver's codec list, where the
 * browser allows it: the edge speaks VP8.
 * @param {RTCRtpTransceiver} transceiver
 */
function preferVP8(transceiver) {
  if (typeof transceiver.setCodecPreferences !== 'function' || typeof RTCRtpReceiver === 'undefined' ||
      typeof RTCRtpReceiver.getCapabilities !== 'function') return;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps) return;
  const isVP8 = (/** @type {{mimeType: string}} */ c) => c.mimeType.toLowerCase() === 'video/vp8';
  const vp8 = caps.codecs.filter(isVP8);
  if (vp8.length === 0) return;
  try {
    transceiver.setCodecPreferences([...vp8, ...caps.codecs.filter((c) => !isVP8(c))]);
  } catch {
    // An old browser's rules for the list: the default order still offers VP8.
  }
}

/**
 * problemOf reads a signaling failure's application/problem+json body.
 * @param {Response} resp
 * @returns {Promise<StickerdError>}
 */
export async function problemOf(resp) {
  const text = await resp.text().catch(() => '');
  const retry = Number.parseInt(resp.headers.get('Retry-After') || '', 10);
  const more = { status: resp.status, retryAfter: Number.isFinite(retry) && retry >= 0 ? retry : 0 };
  /** @type {any} */
  let p = null;
  if (/json/.test(resp.headers.get('Content-Type') || '')) {
    try { p = JSON.parse(text); } catch { /* not JSON after all */ }
  }
  if (p && typeof p === 'object') {
    const errors = Array.isArray(p.errors) ? p.errors : [];
    return new StickerdError(String(p.code || codeForStatus(resp.status)), String(p.detail || p.title || `HTTP ${resp.status}`),
      { ...more, errors, field: errors[0] && errors[0].field || '' });
  }
  return new StickerdError(codeForStatus(resp.status), text.trim().slice(0, 200) || `HTTP ${resp.status}`, more);
}

/**
 * codeForStatus names a failure that came without a problem body (a
 * proxy's page, say), after the server's own table of statuses.
 * @param {number} status
 * @returns {string}
 */
function codeForStatus(status) {
  switch (status) {
    case 400: case 413: case 415: return 'SPEC_INVALID';
    case 401: case 403: return 'UNAUTHORIZED';
    case 404: return 'NOT_FOUND';
    case 405: return 'METHOD_NOT_ALLOWED';
    case 429: return 'RATE_LIMITED';
    case 503: return 'RTC_MEDIA_FAILED';
  }
  if (status >= 500) return 'INTERNAL';
  return 'RTC_NEGOTIATION_FAILED';
}

/**
 * @param {unknown} err
 * @returns {StickerdError}
 */
function asStickerdError(err) {
  if (err instanceof StickerdError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StickerdError('RTC_NEGOTIATION_FAILED', msg);
}

function closedError() {
  return new StickerdError('CLOSED', 'the session is closed');
}

/**
 * gatheringComplete resolves when the peer connection has every candidate.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>}
 */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * withTimeout rejects with a TIMEOUT StickerdError when p takes too long.
 * @template T
 * @param {Promise<T>} p
 * @param {number} ms
 * @param {string} message
 * @returns {Promise<T>}
 */
function withTimeout(p, ms, message) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StickerdError('TIMEOUT', message)), ms);
  });
  return /** @type {Promise<T>} */ (Promise.race([p, t]).finally(() => clearTimeout(timer)));
}

/**
 * notify calls an optional callback; a callback that throws must not break
 * the session.
 * @param {Function | undefined} fn
 * @param {...any} args
 */
function notify(fn, ...args) {
  if (typeof fn !== 'function') return;
  try {
    fn(...args);
  } catch (err) {
    setTimeout(() => { throw err; }); // reported, not swallowed
  }
}

/** @param {unknown} v */
function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
