/*
 * Calltrack dni.js: swaps the account's default phone numbers on the page for the
 * visitor's tracking number. Install (see docs/snippet.md):
 *
 *   <script>window.calltrack=window.calltrack||function(){(calltrack.q=calltrack.q||[]).push(arguments)}</script>
 *   <script async src="https://CDN/dni.js" data-account="KEY" data-api="https://API"></script>
 *
 * Rules this file keeps: no dependencies, never throws into the page, and on any failure
 * (API down, slow, garbage) the page keeps its own numbers.
 */
(function (w, d) {
  'use strict';

  var WIDGET = __WIDGET__; // the callback widget's file name, set by build.mjs
  var COOKIE = '_calltrack';
  // What may stand between the digits of a written number: "(415) 555-0123", "+44 (0)20 7946 0958",
  // "415–555‑0123" (en-dash, non-breaking hyphen), "030/1234", any run of (non-breaking,
  // zero-width, line-break) space; a run of space is one step, so matching stays linear.
  // U+200B–U+2060 holds the zero-width spaces, the hyphens and dashes, bullets and the word joiner.
  var SPACE = '\\s\\u00ad\\u200b-\\u2060';
  var DASH = '.()/\\u2212-';
  var GAP = '[' + SPACE + ']*';
  var SEP = GAP + '(?:(?:[' + DASH + ']|\\(0\\))' + GAP + '){0,3}';
  var GLUE = RegExp('^' + SEP + '$'); // text between the parts of a split number
  // Inline elements a written number may be split across: "<span>(415)</span> <span>555-0123</span>".
  var INLINE = /^(A|B|BR|EM|FONT|I|LABEL|MARK|SMALL|SPAN|STRONG|U)$/;
  // Never swapped: marked areas, code, form fields, and the text of sms:/WhatsApp links
  // (their href goes to the real number, so their text must keep saying it). <template>
  // content is not in the tree; <noscript> text is never shown while scripts run.
  var NOSWAP = '[data-noswap],script,style,textarea,select,[href^=sms i],[href*=whatsapp i],[href*="wa.me/" i]';
  var ATTRS = ['href', 'aria-label', 'title'];

  var html = d.documentElement;
  var me = d.currentScript || d.querySelector('script[data-account]');
  // Installed twice (theme and tag manager): the first copy does the work, alone.
  if (!me || (w.calltrack && w.calltrack.ctx)) return;
  var attr = (name) => me.getAttribute('data-' + name);
  var account = attr('account');
  var api = (attr('api') || new URL(me.src || location).origin).replace(/\/+$/, '');
  var hideMs = Math.min(attr('hide'), 300); // none or garbage: 0 or NaN, no hiding
  var timeout = +attr('timeout') || 5000;
  var cookieDays = +attr('cookie-days') || 30;
  var consent = attr('consent') !== 'required';
  var targets = []; // default numbers (and earlier tracking numbers), E.164 digits
  var patterns = [];
  var waiting = [];
  var followers = []; // same-origin frames sharing this page's session (they never lease)
  var originals = []; // how to undo our writes: one per text node and attribute
  var roots = []; // shadow roots the page handed over (the observer cannot see into them)
  var pending = []; // calltrack('swap', el) before the number arrived
  var OBSERVE = { childList: true, subtree: true, characterData: true, attributeFilter: ATTRS };
  var session = null; // the lease answer, or null (none, or lost)
  var domain, number, cc, started, settled, observer, timer, lastBeat, widgetLoaded, sentPage, follows, idle;

  var digits = (s) => s.replace(/\D/g, '');
  var now = Date.now;
  var lastInput = now();
  var loc = location;
  var jar = (re) => (d.cookie.match('(?:^|; )' + re) || [])[1]; // a cookie's first group

  function safe(fn) {
    return (a, b) => {
      try { return fn(a, b); } catch (e) { /* never into the host page */ }
    };
  }

  function addTargets(list) {
    list.forEach((n) => {
      n = digits('' + n);
      if (n.length > 5 && !targets.includes(n)) targets.push(n);
    });
  }

  // A regex for one E.164 number (digits) written in any common way: international with
  // + or 00, national with or without the trunk 0, any separators between digits.
  function pattern(e) {
    var join = (s) => s.split('').join(SEP);
    var national = [1, 2, 3].map((k) => join(e.slice(k))).join('|');
    return new RegExp('(^|[^\\d+])((?:\\+|00)?' + join(e) + '|\\(?(?:0' + SEP + ')?(?:' + national + '))(?!\\d)', 'g');
  }

  // How a written number (its digits x) stands for E.164 digits e: [prefix, k] where x is
  // prefix + e without its first k digits (k = 0: international; else national, k being
  // the country code's length and prefix the trunk 0, if any).
  function form(x, e, plus) {
    for (var k = 0; k < (plus ? 1 : 4); k++) {
      for (var p of ['', '0', '00']) if (x === p + e.slice(k)) return [p, k];
    }
  }

  // Rewrites one written occurrence of default number `e` with the tracking number,
  // digit by digit, so the page's own style ("(415) 555-0123", "415.555.0123") is kept.
  function rewrite(text, e, link) {
    var x = digits(text.replace('(0)', ''));
    var f = form(x, e, /^\+/.test(text)) || ['', 9];
    var k = f[1];
    var nd = f[0] + number.slice(k);
    var i = 0;
    // Same country (its code: k digits, or cc for international writing) and length?
    if (number.slice(0, k || cc) === e.slice(0, k || cc) && nd.length === x.length) {
      return text.replace('(0)', 'x').replace(/\d/g, () => nd.charAt(i++)).replace('x', '(0)');
    }
    // Otherwise the number's own formats: national where the page wrote a national number.
    return (!link && k && session.display) || '+' + number;
  }

  function replaceIn(text, link) {
    patterns.forEach((re, i) => {
      text = text.replace(re, (m, before, written) => {
        return before + rewrite(written, targets[i], link);
      });
    });
    return text;
  }

  var get = (o, k) => k ? o.getAttribute(k) : o.data;
  var put = (o, k, t) => k ? o.setAttribute(k, t) : o.data = t;

  // Writes `t` into a text node (k '') or an attribute, remembering what the page had there
  // the first time (flag _ct<k>): one undo per spot however often it is swapped again (a
  // framework re-rendering it, a new lease), and never our own earlier write.
  function write(o, k, t) {
    var v = get(o, k), f = '_ct' + k;
    if (v === t) return;
    if (!o[f]) originals.push(() => { put(o, k, v); o[f] = 0; });
    o[f] = 1;
    put(o, k, t);
  }

  // The block a node's text belongs to: a written number never spans two blocks.
  function block(n) {
    while (n && INLINE.test(n.nodeName)) n = n.parentNode; // (a detached inline node: none)
    return n;
  }

  // Swaps every default number inside `root` (an element, an open shadow root, or a changed
  // text node), except in NOSWAP areas. The text of a block is read
  // as one string so a number split across elements ("<b>415</b>-555-0123", React's
  // "<!-- -->") is found; each digit is written back into the node it came from.
  function swap(root) {
    var el = root && (root.nodeType === 1 ? root : root.host);
    if (!number || !el) return;
    var walk = d.createTreeWalker(root, 4), text = '', spots = [], last, n, t, p;
    while ((n = walk.nextNode())) {
      t = n.data;
      p = n.parentNode;
      // Text with digits, or glue between digits ("-", " "); anything else ends a run.
      if (/\d/.test(t) || GLUE.test(t)) {
        if ((p = block(p)) !== last) text += '|';
        last = p;
        spots.push([n, text.length]);
        text += t;
      } else last = 0;
    }
    // The block's text with every number rewritten, one slot per character: same length,
    // digit for digit (each digit stays in its own element); else the first slot takes it all.
    var chars = text.split('');
    patterns.forEach((re, i) => text.replace(re, (m, before, written, at) => {
      var r = rewrite(written, targets[i]), l = written.length, j = 0;
      at += before.length;
      // A number with any part in a NOSWAP area (scripts, data-noswap, sms: links) stays.
      if (!spots.some((s) => s[1] < at + l && s[1] + s[0].data.length > at && (s[0].parentElement || el).closest(NOSWAP))) {
        for (; j < l; j++) chars[at + j] = r.length === l ? r[j] : j ? '' : r;
      }
    }));
    spots.forEach((s) => write(s[0], '', chars.slice(s[1], s[1] + s[0].data.length).join('')));
    // tel: links, and the aria-label and title that read the number out.
    [el, ...root.querySelectorAll('[href^="tel:" i],[aria-label],[title]')].forEach((e) => {
      if (e.closest(NOSWAP)) return;
      ATTRS.forEach((k, i) => { // i = 0: the href
        var v = get(e, k), u = v;
        if (!v || !i && !/^tel:/i.test(v)) return;
        if (!i) u = unescape(v); // tel:+1%20415…; never throws on a malformed escape
        t = replaceIn(u, !i);
        if (t !== u) write(e, k, t);
      });
    });
  }

  function observe() {
    if (observer) return;
    // A change is swapped in its block (a split number may be completed by its last part);
    // a text node only if it has digits (text without any completes no number). A batch
    // swaps each block once: the parser adds a section, then each of its descendants.
    observer = new MutationObserver(safe((records) => {
      var last;
      records.forEach((r) => (r.type === 'childList' ? r.addedNodes : [r.target]).forEach((n) => {
        n = block(n.nodeType === 3 ? /\d/.test(n.data) && n.parentNode : n);
        if (n && !(last && last.contains(n))) swap(last = n);
      }));
    }));
    [html, ...roots].forEach((r) => { observer.observe(r, OBSERVE); });
  }

  // Every hiding style goes: ours and the one the install stub may have added.
  function unhide() {
    d.querySelectorAll('#calltrack-hide').forEach((s) => s.remove());
    html.classList.remove('calltrack-hiding');
  }

  // Hides by a class on <html> (a strict CSP's own stylesheet hides with it: data-hide-class)
  // and, unless data-hide-class, by a style carrying the script's nonce.
  function hide() {
    html.classList.add('calltrack-hiding');
    if (attr('hide-class') == null) { // beside the stub's own, if any: unhide() takes every one
      d.head.appendChild(Object.assign(d.createElement('style'), {
        id: 'calltrack-hide', nonce: me.nonce, textContent: 'a[href^="tel:"],.calltrack{visibility:hidden}'
      }));
    }
    setTimeout(unhide, hideMs);
  }

  function post(path, body) {
    return fetch(api + path, {
      method: 'POST', body: JSON.stringify(body), keepalive: true
    }).then((res) => res.ok ? res.json() : res.status === 410 && 410); // other errors: false
  }

  // The session cached beside the cookie (none: forgotten), for the next page's first paint.
  function store(s) {
    try { s ? localStorage.setItem(COOKIE, JSON.stringify(s)) : localStorage.removeItem(COOKIE); } catch (e) { /* storage off */ }
  }

  // The session cookie: read, or written (age 0: deleted) on the account's domain the API
  // named, so www. and shop. share it. Every other copy goes first (host-only, or on any
  // parent domain: an older release's, one from before cookie_domain changed), so the one
  // written is the one read, and a withdrawal before any lease removes them all.
  function cookie(value, age) {
    if (value == null) return jar(COOKIE + '=([^;]+)');
    for (var h = '.' + loc.hostname, at = ''; h; h = h.replace(/^\.[^.]*/, '')) {
      d.cookie = COOKIE + '=;path=/;max-age=0' + at; // host-only, then www.acme.com, acme.com
      at = ';domain=' + h.slice(1);
    }
    if (age) d.cookie = COOKIE + '=' + value + ';path=/;max-age=' + age +
      (domain ? ';domain=' + domain : '') + (loc.protocol[4] == 's' ? ';secure' : ''); // (no SameSite: only this script reads it)
    store(age && session);
  }

  // The session in the cookie (and the cache), where consent allows; a frame keeps none.
  function remember() {
    if (consent && session.session_id && !follows) cookie(session.session_id, cookieDays * 86400);
  }

  // Lease lost and not renewed: put the page's own number back rather than keep one that
  // may now belong to another visitor.
  var fail = safe(() => {
    // Every spot gets back exactly what the page had.
    number = session = null;
    originals.splice(0).forEach((undo) => undo());
    store();
    tell();
  });

  // Every callback waiting for the number, and the frames following this page, hear of it.
  function tell() {
    settled = 1;
    unhide();
    [...waiting.splice(0), ...followers].forEach((cb) => safe(cb)(session));
  }

  function use(s) {
    if (!/^\+\d{6,}$/.test(s.number)) throw 0; // garbage (or no answer: a TypeError) throws too
    if (number && number !== digits(s.number)) addTargets([number]); // a new lease: the old tracking number goes too
    session = s;
    lastBeat = now(); // a lease counts as a beat
    number = digits(s.number);
    // Country code length: what the national display leaves out (codes are prefix-free).
    cc = digits(s.display || '').replace(/^0/, '').length;
    cc = cc && number.length - cc;
    addTargets(s.replace || []);
    patterns = targets.map(pattern);
    domain = s.cookie_domain;
    remember();
    [html, ...roots, ...pending.splice(0)].forEach(swap);
    observe();
    tell();
    schedule();
    if (attr('callback') != null) loadWidget();
  }

  // GA4's session id from its _ga_<stream> cookie (GS1.1.<id>.… or GS2.1.s<id>$…), so calls
  // join the visitor's GA session; gtag may set it only after our lease, so beats send it too.
  function gaSession() {
    return jar('_ga_\\w+=GS\\d\\.\\d\\.s?(\\d+)');
  }

  function lease() {
    var t0 = now();
    var asked = (session && session.session_id) || (consent && cookie()) || null;
    return post('/v1/sessions', {
      account: account,
      url: loc.href,
      referrer: d.referrer,
      ga_client_id: jar('_ga=GA\\d+\\.\\d+\\.(\\d+\\.\\d+)'),
      ga_session_id: gaSession(),
      session_id: asked,
      country: attr('country')
    }).then((s) => {
      if (now() - t0 > timeout) throw 0; // too late: the visitor has seen the page's numbers
      if (s.session_id !== asked) sentPage = loc.href; // a new lease records its landing page
      use(s);
    }).catch(fail);
  }

  // Heartbeat while the tab is visible; paused while hidden, resumed (and caught up) on return.
  // A frame following the page never beats: the page does. A visible tab without input for
  // idle_seconds (data-idle-minutes overrides) stops too, so a tab left open gives its
  // number back; the next input beats at once (a 410 leases again and swaps).
  function schedule() {
    if (follows || !(session && session.heartbeat_seconds)) return;
    var due = lastBeat + (+attr('heartbeat') || session.heartbeat_seconds) * 1000;
    var limit = (attr('idle-minutes') * 60 || session.idle_seconds) * 1000;
    clearTimeout(timer);
    if (d.hidden) return;
    if (limit && due - lastInput >= limit) return (idle = 1); // no beat: the lease runs out
    idle = 0;
    timer = setTimeout(beat, due - now()); // late: at once
  }

  function touched() {
    lastInput = now();
    if (idle && !d.hidden) beat();
  }

  function beat() {
    idle = 0;
    clearTimeout(timer); // an input's beat and a due one never both go
    lastBeat = now();
    // The page only when it changed (single-page apps): the session's pages are the pages
    // seen, not one per minute on the same page.
    var url = loc.href;
    post('/v1/sessions/' + session.session_id + '/heartbeat', { url: url === sentPage ? undefined : (sentPage = url), ga_session_id: gaSession() })
      .then((r) => {
        if (r === 410) return lease(); // the lease is gone: lease again and swap
        // (the number is part of the session id: a beat never changes it)
        if (r) {
          session.expires_at = r.expires_at;
          remember(); // the cached expiry follows the lease
        }
        schedule();
      })
      .catch(schedule);
  }

  // A same-origin frame follows the page's session (the page leases, beats and re-leases);
  // a returning visitor's live cached number is swapped in at once, then confirmed.
  function start() {
    if (started || !account) return;
    started = 1;
    // (a parent with the install stub only, or another origin, is not followed)
    try { follows = w.parent !== w && w.parent.calltrack.ctx && w.parent.calltrack; } catch (e) { /* another origin */ }
    if (follows) return follows('follow', (s) => s ? use(s) : fail());
    try {
      var c = JSON.parse(localStorage.getItem(COOKIE));
      if (c.session_id === cookie() && Date.parse(c.expires_at) > now()) use(c);
    } catch (e) { /* nothing cached */ }
    lease();
  }

  function loadWidget() {
    // An inserted script is async by itself.
    if (!widgetLoaded) widgetLoaded = d.head.appendChild(Object.assign(d.createElement('script'), { src: new URL(WIDGET, me.src) }));
  }

  var commands = {
    consent: (given) => {
      consent = given !== false;
      if (consent) start();
      else cookie('', 0); // withdrawn: forget the visitor
    },
    swap: (root) => {
      if (root && root.nodeType === 11) { // handed over twice: swapped and observed twice, harmless
        roots.push(root);
        if (observer) observer.observe(root, OBSERVE);
      }
      if (number) swap(root);
      else pending.push(root);
    },
    number: (cb) => {
      if (settled) cb(session);
      else waiting.push(cb);
    },
    follow: (cb) => {
      followers.push(cb);
      if (settled) cb(session);
    },
    callback: loadWidget
  };

  var queue = (w.calltrack && w.calltrack.q) || [];
  var calltrack = safe((cmd, arg) => commands[cmd](arg)); // an unknown command throws into safe()
  // What the widget needs; kept off the command list so pages don't depend on it.
  calltrack.ctx = () => {
    return { api: api, account: account, session_id: session && session.session_id };
  };
  w.calltrack = calltrack;

  safe(() => {
    addTargets(('' + attr('numbers')).split(/[\s,]+/)); // none: "null", no digits, ignored
    d.addEventListener('visibilitychange', safe(() => {
      if (!d.hidden) lastInput = now(); // coming back to the tab is the visitor's doing
      schedule();
    }));
    'pointerdown pointermove keydown scroll touchstart focus'.split(' ').forEach((e) => w.addEventListener(e, safe(touched), true));
    if (!consent) return unhide(); // nothing is swapped before consent: never hide
    if (hideMs) hide();
    start();
  })();
  queue.forEach((q) => calltrack(q[0], q[1]));
})(window, document);
