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
  // Characters allowed between the digits of a written number: "(415) 555-0123", "+44 (0)20 7946 0958".
  var SEP = '(?:[\\s.()\\u00a0-]|\\(0\\)){0,4}';
  var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE|TEXTAREA|INPUT|SELECT|OPTION)$/;
  var NOSWAP = '[data-noswap],script,style,noscript,template,textarea,select';

  var me = d.currentScript || d.querySelector('script[data-account]');
  if (!me) return;
  var attr = function (name) { return me.getAttribute('data-' + name); };
  var account = attr('account');
  var api = (attr('api') || me.src.replace(/^(\w+:\/\/[^/]+).*/, '$1')).replace(/\/+$/, '');
  var base = me.src.replace(/[^/]*$/, '');
  var hideMs = Math.min(+attr('hide') || 0, 300);
  var timeout = +attr('timeout') || 5000;
  var cookieDays = +attr('cookie-days') || 30;
  var consent = attr('consent') !== 'required';
  var targets = []; // default numbers (and earlier tracking numbers), E.164 digits
  var patterns = [];
  var waiting = [];
  var originals = []; // [node, 'data' | 'href', what the page had] for each spot we changed
  var roots = []; // shadow roots the page handed over (the observer cannot see into them)
  var pending = []; // calltrack('swap', el) before the number arrived
  var OBSERVE = { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['href'] };
  var session, number, cc, started, settled, observer, timer, lastBeat, widgetLoaded, sentPage;

  var noop = function () {};
  var digits = function (s) { return s.replace(/\D/g, ''); };

  function safe(fn) {
    return function (a, b) {
      try { return fn(a, b); } catch (e) { /* never into the host page */ }
    };
  }

  function addTargets(list) {
    list.forEach(function (n) {
      n = digits(String(n));
      if (n.length > 5 && targets.indexOf(n) < 0) targets.push(n);
    });
  }

  // A regex for one E.164 number (digits) written in any common way: international with
  // + or 00, national with or without the trunk 0, any separators between digits.
  function pattern(e) {
    var join = function (s) { return s.split('').join(SEP); };
    var national = [1, 2, 3].map(function (k) { return join(e.slice(k)); }).join('|');
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
      return text.replace('(0)', 'x').replace(/\d/g, function () { return nd.charAt(i++); }).replace('x', '(0)');
    }
    // Otherwise the number's own formats: national where the page wrote a national number.
    return (!link && k && session.display) || '+' + number;
  }

  function replaceIn(text, link) {
    patterns.forEach(function (re, i) {
      text = text.replace(re, function (m, before, written) {
        return before + rewrite(written, targets[i], link);
      });
    });
    return text;
  }

  // Remembers what a spot held before we first changed it (restore() puts it back).
  function keep(node, what, value) {
    if (!node['_ct' + what]) originals.push([node, what, value]);
    node['_ct' + what] = 1;
  }

  function swapNode(node) {
    var t = node.nodeType, href, raw, tel;
    if (t === 3) {
      if (/\d/.test(node.data) && !SKIP.test(node.parentNode.nodeName)) {
        t = replaceIn(node.data);
        if (t !== node.data) { keep(node, 'data', node.data); node.data = t; }
      }
    } else if (t === 1) {
      href = raw = node.getAttribute('href');
      if (href && /^tel:/i.test(href)) {
        try { href = decodeURIComponent(href); } catch (e) { /* keep it as written */ }
        tel = 'tel:' + replaceIn(href.slice(4), 1);
        if (tel !== href) { keep(node, 'href', raw); node.setAttribute('href', tel); }
      }
    }
  }

  // The lease is gone and no other came: every spot gets back exactly what the page had.
  function restore() {
    number = session = null;
    originals.splice(0).forEach(function (o) {
      o[0]['_ct' + o[1]] = 0;
      if (o[1] === 'data') o[0].data = o[2];
      else o[0].setAttribute('href', o[2]);
    });
  }

  // Swaps every default number inside `root`, except in data-noswap areas and form fields.
  function swap(root) {
    var el = root && (root.nodeType === 1 ? root : root.host || root.parentNode);
    if (!number || !el || !el.closest || el.closest(NOSWAP)) return;
    if (root.nodeType !== 1 && root.nodeType !== 11) return swapNode(root);
    var walker = d.createTreeWalker(root, 5, {
      acceptNode: function (n) {
        return n.nodeType === 1 && (SKIP.test(n.nodeName) || n.hasAttribute('data-noswap')) ? 2 : 1;
      }
    });
    for (var n = root; n; n = walker.nextNode()) swapNode(n);
  }

  function observe() {
    if (observer || !w.MutationObserver) return;
    observer = new MutationObserver(safe(function (records) {
      records.forEach(function (r) {
        if (r.type === 'childList') r.addedNodes.forEach(swap);
        else swap(r.target);
      });
    }));
    [d.documentElement].concat(roots).forEach(function (r) { observer.observe(r, OBSERVE); });
  }

  // Every hiding style goes: ours and the one the install stub may have added.
  function unhide() {
    for (var s; (s = d.getElementById('calltrack-hide'));) s.parentNode.removeChild(s);
  }

  function hide() {
    var s = d.createElement('style');
    s.id = 'calltrack-hide';
    s.textContent = 'a[href^="tel:"],.calltrack{visibility:hidden!important}';
    if (!d.getElementById(s.id)) d.head.appendChild(s);
    setTimeout(unhide, hideMs);
  }

  function post(path, body) {
    return fetch(api + path, {
      method: 'POST', body: JSON.stringify(body), keepalive: true, credentials: 'omit'
    }).then(function (res) {
      return res.status === 410 ? 410 : res.ok ? res.json() : Promise.reject(res.status);
    });
  }

  function cookie(value) {
    if (value === undefined) {
      var m = d.cookie.match('(?:^|; )' + COOKIE + '=([^;]+)');
      return m && decodeURIComponent(m[1]);
    }
    d.cookie = COOKIE + '=' + encodeURIComponent(value) + ';path=/;max-age=' + cookieDays * 86400 +
      ';samesite=lax' + (location.protocol === 'https:' ? ';secure' : '');
  }

  function use(s) {
    if (typeof s !== 'object' || !s || !/^\+\d{6,15}$/.test(s.number)) throw 0;
    if (number) addTargets([number]); // a new lease: the old tracking number goes too
    session = s;
    lastBeat = Date.now(); // a lease counts as a beat
    number = digits(s.number);
    // Country code length: what the national display leaves out (codes are prefix-free).
    cc = digits(s.display || '').replace(/^0/, '').length;
    cc = cc && number.length - cc;
    addTargets(s.replace || []);
    patterns = targets.map(pattern);
    if (consent && s.session_id) cookie(s.session_id);
    [d.documentElement].concat(roots, pending.splice(0)).forEach(swap);
    observe();
    unhide();
    settled = 1;
    waiting.splice(0).forEach(function (cb) { safe(cb)(session); });
    if (s.heartbeat_seconds > 0) schedule();
    if (attr('callback') !== null) loadWidget();
  }

  // GA4's session id from its _ga_<stream> cookie (GS1.1.<id>.… or GS2.1.s<id>$…), so calls
  // join the visitor's GA session; gtag may set it only after our lease, so beats send it too.
  function gaSession() {
    var m = d.cookie.match(/(?:^|; )_ga_\w+=GS\d\.\d\.s?(\d+)/);
    return m ? m[1] : undefined;
  }

  // The page, once: a heartbeat names it only when it changed (single-page apps), so the
  // session's pages are the pages seen, not one per minute on the same page.
  function page() {
    var href = location.href;
    if (href === sentPage) return undefined;
    sentPage = href;
    return href;
  }

  function lease() {
    var t0 = Date.now();
    var asked = (session && session.session_id) || (consent ? cookie() : undefined) || undefined;
    var ga = d.cookie.match(/(?:^|; )_ga=GA\d+\.\d+\.(\d+\.\d+)/);
    return post('/v1/sessions', {
      account: account,
      url: location.href,
      referrer: d.referrer,
      ga_client_id: ga ? ga[1] : undefined,
      ga_session_id: gaSession(),
      session_id: asked,
      country: attr('country') || undefined
    }).then(function (s) {
      if (Date.now() - t0 > timeout) throw 0; // too late: the visitor has seen the page's numbers
      if (s && s.session_id !== asked) sentPage = location.href; // a new lease records its landing page
      use(s);
    }).catch(function () {
      // Lease lost and not renewed: put the page's own number back rather than keep one
      // that may now belong to another visitor.
      if (session) restore();
      settled = 1;
      unhide();
      waiting.splice(0).forEach(function (cb) { safe(cb)(session || null); });
    }).catch(noop);
  }

  // Heartbeat while the tab is visible; paused while hidden, resumed (and caught up) on return.
  function schedule() {
    var every = (+attr('heartbeat') || session.heartbeat_seconds) * 1000;
    clearTimeout(timer);
    if (d.visibilityState === 'hidden') return;
    timer = setTimeout(beat, Math.max(0, (lastBeat || Date.now()) + every - Date.now()));
  }

  function beat() {
    lastBeat = Date.now();
    post('/v1/sessions/' + encodeURIComponent(session.session_id) + '/heartbeat', { url: page(), ga_session_id: gaSession() })
      .then(function (r) {
        if (r === 410) return lease(); // the lease is gone: lease again and swap
        if (r && r.number && r.number !== session.number) use(Object.assign({}, session, r));
        else if (r) session.expires_at = r.expires_at;
        schedule();
      })
      .catch(schedule);
  }

  function start() {
    if (started || !account) return;
    started = 1;
    lease();
  }

  function loadWidget() {
    if (widgetLoaded) return;
    widgetLoaded = 1;
    var s = d.createElement('script');
    s.src = base + WIDGET;
    s.async = true;
    d.head.appendChild(s);
  }

  var commands = {
    consent: function (given) {
      consent = given !== false;
      if (consent) start();
      else d.cookie = COOKIE + '=;path=/;max-age=0'; // withdrawn: forget the visitor
    },
    swap: function (root) {
      if (root && root.nodeType === 11 && roots.indexOf(root) < 0) {
        roots.push(root);
        if (observer) observer.observe(root, OBSERVE);
      }
      if (number) swap(root);
      else pending.push(root);
    },
    number: function (cb) {
      if (settled) cb(session || null);
      else waiting.push(cb);
    },
    callback: loadWidget
  };

  var queue = (w.calltrack && w.calltrack.q) || [];
  var calltrack = safe(function (cmd, arg) {
    if (commands[cmd]) commands[cmd](arg);
  });
  // What the widget needs; kept off the command list so pages don't depend on it.
  calltrack.ctx = function () {
    return { api: api, account: account, session_id: session && session.session_id };
  };
  w.calltrack = calltrack;

  safe(function () {
    addTargets((attr('numbers') || '').split(/[\s,]+/));
    d.addEventListener('visibilitychange', safe(function () {
      if (session && session.heartbeat_seconds > 0) schedule();
    }));
    if (!consent) return unhide(); // nothing is swapped before consent: never hide
    if (hideMs) hide();
    start();
  })();
  for (var i = 0; i < queue.length; i++) calltrack(queue[i][0], queue[i][1]);
})(window, document);
