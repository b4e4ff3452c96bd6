/**
 * The browser tracker served at GET /t.js, kept readable here; `trackerScript()` strips the comment
 * lines and indentation (measured by test/integrations-tracker.test.ts against the 1 KB gzip budget).
 *
 *   <script defer src="https://HOST/t.js" data-workspace="demo" data-key="pk_…"
 *           data-room="standup" data-respect-dnt data-host="https://HOST"></script>
 *   edgepulse.track('signup', { plan: 'pro' }); edgepulse.identify('u_42');
 *
 * Events go to POST /api/v1/collect?key=… as text/plain (a CORS-simple request, no preflight) by fetch
 * with keepalive (it outlives the page, like sendBeacon, and shows the answer: a 429's Retry-After is
 * honoured). Nothing here may throw into the host page.
 */
export const TRACKER_SOURCE = String.raw`
(function (w, d, n) {
  var noop = function () {};
  var queued = w.edgepulse;
  var api = (w.edgepulse = { track: noop, identify: noop });
  try {
    var s = d.currentScript;
    var a = function (k) { return s.getAttribute('data-' + k); };
    // Do Not Track is honoured only when the page asks for it.
    if (a('respect-dnt') != null && (n.doNotTrack == '1' || w.doNotTrack == '1')) return;
    var url = (a('host') || new URL(s.src).origin) + '/api/v1/collect?key=' + encodeURIComponent(a('key'));
    var room = a('room');
    var store = function (k, v) {
      try {
        if (v == null) return localStorage.getItem(k);
        localStorage.setItem(k, v);
      } catch (x) {}
    };
    var rid = function () { return Math.random().toString(36).slice(2) + Date.now().toString(36); };
    var anon = store('ep_a') || rid();
    store('ep_a', anon);
    var user = store('ep_u');
    var session = rid();
    // A 429 holds every send until its Retry-After has passed; the refused one goes again then (same id: never doubled).
    var hold = 0;
    var post = function (body, t) {
      (t = hold - Date.now()) > 0 ? setTimeout(post, t, body) : fetch(url, { method: 'POST', body: body, keepalive: true }).then(function (r) {
        r.status == 429 && post(body, hold = Date.now() + (r.headers.get('retry-after')*1e3 || 5e3));
      }, noop);
    };
    var send = function (type, props) {
      try {
        post(JSON.stringify({
          id: rid() + rid(), type: type, timestamp: Date.now(), userId: user || anon, sessionId: session,
          room: room || undefined, properties: props,
          context: { url: location.href.slice(0, 2e3), referrer: d.referrer.slice(0, 2e3) }
        }));
      } catch (x) {}
    };
    // A page view per distinct path, including single-page-app navigation.
    var last;
    var page = function () {
      var path = location.pathname + location.search;
      if (path != last) send('pageview', { path: (last = path).slice(0, 1e3), title: d.title.slice(0, 1e3) });
    };
    ['pushState', 'replaceState'].forEach(function (m) {
      var orig = history[m];
      history[m] = function () {
        var r = orig.apply(this, arguments);
        page();
        return r;
      };
    });
    w.addEventListener('popstate', page);
    api.track = function (type, props) { send(String(type), props); };
    api.identify = function (id) {
      user = id ? String(id) : '';
      store('ep_u', user);
    };
    page();
    if (room) {
      send('presence.join');
      setInterval(function () { send('presence.heartbeat'); }, 3e4);
      w.addEventListener('pagehide', function () { send('presence.leave'); });
      w.addEventListener('pageshow', function (e) { if (e.persisted) send('presence.join'); });
    }
    // Calls made before the script loaded: window.edgepulse = [['track', 'x', {…}], …]
    if (queued && queued.forEach) queued.forEach(function (c) { api[c[0]] && api[c[0]].apply(api, c.slice(1)); });
  } catch (x) {}
})(window, document, navigator);
`;

let served: string | undefined;

/**
 * The script as served: full-line comments, indentation and spaces next to punctuation removed.
 * Safe because the code has explicit semicolons and no string literal in it holds whitespace.
 */
export function trackerScript(): string {
  served ??= TRACKER_SOURCE.split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('//'))
    .join('\n')
    .replace(/\s*([{}()[\];,:=+|&!<>?'])\s*/g, '$1');
  return served;
}
