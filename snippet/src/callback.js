/*
 * Calltrack callback widget, loaded by dni.js only when the site opts in
 * (data-callback on the script tag, or calltrack('callback')). A button opens a small
 * form; the visitor's number goes to POST /v1/callbacks with the session id, so the
 * callback is attributed like a call.
 */
(function (w, d) {
  'use strict';

  var ct = w.calltrack;
  if (!ct || !ct.ctx || d.getElementById('calltrack-callback')) return;

  var CSS =
    '#calltrack-callback{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:16px/1.4 system-ui,sans-serif}' +
    '#calltrack-callback button{font:inherit;cursor:pointer;border:0;border-radius:6px;padding:10px 16px;background:#0b57d0;color:#fff}' +
    '#calltrack-callback button:focus-visible,#calltrack-callback input:focus-visible{outline:3px solid #f9ab00;outline-offset:2px}' +
    '#calltrack-callback form{margin-bottom:8px;padding:16px;border-radius:8px;background:#fff;color:#1f1f1f;box-shadow:0 2px 12px rgba(0,0,0,.25)}' +
    '#calltrack-callback label{display:block;margin-bottom:4px}' +
    '#calltrack-callback input{font:inherit;padding:8px;margin-bottom:8px;width:14em;border:1px solid #747775;border-radius:4px}' +
    '#calltrack-callback [role=status]{margin:8px 0 0;min-height:1.4em}';

  function el(tag, props, children) {
    var e = d.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') e.textContent = props[k];
      else e.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }

  var style = el('style', { text: CSS });
  var input = el('input', {
    id: 'calltrack-phone', type: 'tel', name: 'phone', autocomplete: 'tel', required: '', inputmode: 'tel'
  });
  var status = el('p', { role: 'status', 'aria-live': 'polite' });
  var send = el('button', { type: 'submit', text: 'Call me back' });
  var form = el('form', { id: 'calltrack-form', hidden: '', 'aria-label': 'Request a callback' }, [
    el('label', { for: 'calltrack-phone', text: 'Your phone number' }), input, send, status
  ]);
  var toggle = el('button', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': 'calltrack-form', text: 'Request a callback'
  });
  var root = el('div', { id: 'calltrack-callback', 'data-noswap': '' }, [form, toggle]);

  function open(show) {
    form.hidden = !show;
    toggle.setAttribute('aria-expanded', String(show));
    (show ? input : toggle).focus();
  }

  toggle.addEventListener('click', function () { open(form.hidden); });
  root.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !form.hidden) open(false);
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var c = ct.ctx();
    send.disabled = true;
    status.textContent = 'Sending…';
    fetch(c.api + '/v1/callbacks', {
      method: 'POST',
      credentials: 'omit',
      body: JSON.stringify({ account: c.account, phone: input.value, session_id: c.session_id || undefined })
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.status !== 202) throw body;
        status.textContent = 'Thank you, we will call you back shortly.';
        form.reset();
      });
    }).catch(function (body) {
      // The API's own words for a bad number; a network failure gets a plain apology.
      status.textContent = (!(body instanceof Error) && body.message) ||
        'Sorry, that did not work. Please check the number and try again.';
    }).then(function () { send.disabled = false; });
  });

  function mount() {
    d.head.appendChild(style);
    d.body.appendChild(root);
  }
  if (d.body) mount();
  else d.addEventListener('DOMContentLoaded', mount);
})(window, document);
