/**
 * The page's script, inlined into the HTML (allowed by a hash in the page's Content-Security-Policy).
 * Plain browser JavaScript with standard APIs only (EventSource, fetch, SVG), no dependency, so the
 * page works offline and in any current browser. It is a string because the package's TypeScript
 * targets Node; the browser tests run it for real. Data from the server is only ever set as text
 * (`textContent`), never parsed as HTML. No backtick or dollar-brace may appear in it.
 */
import { DASHBOARD_CHARTS_SCRIPT } from './dashboard-client-charts.js';
import { DASHBOARD_FAMILIES_SCRIPT } from './dashboard-client-families.js';

const MAIN = String.raw`
  var config = JSON.parse(document.getElementById('dashboard-config').textContent);
  var STATES = {
    closed: ['Closed', 'calls pass'],
    open: ['Open', 'calls rejected'],
    half_open: ['Half-open', 'trial calls'],
    forced_open: ['Forced open', 'every call rejected until an operator acts'],
    disabled: ['Disabled', 'every call passes, nothing recorded'],
    metrics_only: ['Metrics only', 'recorded, never rejected']
  };
  var ACTIONS = [['force-open', 'Force open'], ['disable', 'Disable'], ['metrics-only', 'Metrics only'], ['reset', 'Reset']];
  // the order of a sample's values (SAMPLE_FIELDS on the server)
  var FIELDS = ['failureRate', 'slowCallRate', 'successful', 'failed', 'timeout', 'notPermitted', 'ignored'];

  var model = { times: [], historyMs: 300000, breakers: new Map() };
  var el = function (id) { return document.getElementById(id); };
  var list = el('breakers'), announcer = el('announcer'), connection = el('connection');

  function make(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function label(state) { return (STATES[state] || [state])[0]; }
  function pct(v) { return (Math.round(v * 10) / 10) + '%'; }
  function clock(at) { return new Date(at).toLocaleTimeString(); }
  function announce(text) { announcer.textContent = ''; announcer.textContent = text; }

  // ------------------------------------------------------------------ one card per breaker

  function card(name) {
    var b = model.breakers.get(name);
    if (b) return b;
    b = { name: name, view: null, history: {}, transitions: [], receivedAt: 0 };
    FIELDS.forEach(function (field) {
      b.history[field] = model.times.map(function () { return null; });
    });
    var root = make('article', 'breaker');
    var id = 'b' + Math.random().toString(36).slice(2);
    root.setAttribute('aria-labelledby', id);
    var head = make('header', 'breaker-head');
    var title = make('h3', null, name);
    title.id = id;
    b.badge = make('span', 'state');
    b.countdown = make('span', 'countdown');
    head.append(title, b.badge, b.countdown);
    b.facts = make('dl', 'facts');
    var chartRow = make('div', 'charts');
    b.rates = charts.chart('Failure and slow-call rate (%)');
    b.calls = charts.chart('Calls per second by outcome');
    chartRow.append(b.rates.figure, b.calls.figure);
    root.append(head, b.facts, chartRow);
    if (!config.readOnly) {
      var actions = make('div', 'actions');
      actions.setAttribute('role', 'group');
      actions.setAttribute('aria-label', 'Actions on ' + name);
      ACTIONS.forEach(function (a) {
        var button = make('button', null, a[1]);
        button.type = 'button';
        button.setAttribute('aria-label', a[1] + ' ' + name);
        button.addEventListener('click', function () { act(b, a[0], a[1]); });
        actions.append(button);
      });
      b.result = make('p', 'result');
      b.result.setAttribute('role', 'status');
      root.append(actions, b.result);
    }
    var details = make('details', 'transitions');
    details.open = true;
    b.summary = make('summary', null, 'Recent transitions');
    b.log = make('ol');
    details.append(b.summary, b.log);
    root.append(details);
    b.root = root;
    model.breakers.set(name, b);
    insertSorted(b);
    el('empty').hidden = true;
    return b;
  }

  function insertSorted(b) {
    var next = Array.prototype.find.call(list.children, function (child) { return child.dataset.name > b.name; });
    b.root.dataset.name = b.name;
    list.insertBefore(b.root, next || null);
  }

  function fact(dl, term, value, extra) {
    var row = make('div');
    var dd = make('dd', null, value);
    if (extra) dd.append(' ', make('span', 'muted', extra));
    row.append(make('dt', null, term), dd);
    dl.append(row);
  }

  function renderView(b) {
    var v = b.view, t = v.thresholds;
    b.badge.textContent = label(v.state);
    b.badge.className = 'state state-' + v.state;
    b.badge.title = (STATES[v.state] || ['', ''])[1];
    b.root.dataset.state = v.state;
    b.facts.textContent = '';
    fact(b.facts, 'Failure rate', pct(v.failureRate), 'trips at ' + pct(t.failureRateThreshold));
    fact(b.facts, 'Slow-call rate', t.slowCallRateThreshold === undefined ? 'not tracked' : pct(v.slowCallRate),
      t.slowCallRateThreshold === undefined ? '' : 'trips at ' + pct(t.slowCallRateThreshold) + ' of calls over ' + t.slowCallDurationMs + ' ms');
    var w = t.slidingWindow;
    fact(b.facts, 'Calls in window', String(v.calls),
      (w.type === 'count' ? 'last ' + w.size + ' calls' : 'last ' + Math.round(w.durationMs / 1000) + ' s') + ', rates count from ' + t.minimumCalls);
    fact(b.facts, 'Consecutive failures', String(v.consecutiveFailures), t.consecutiveFailureThreshold ? 'trips at ' + t.consecutiveFailureThreshold : '');
    fact(b.facts, 'Rejected calls', String(v.notPermittedCalls), 'openings: ' + v.openings);
    fact(b.facts, 'Store', v.store === undefined ? 'none (this instance only)' : v.store === 'shared' ? 'shared' : 'unreachable: local fallback',
      v.store === undefined ? '' : 'outages: ' + v.storeFallbacks);
    if (v.wouldTrip) fact(b.facts, 'Would trip', 'yes', 'a trip rule holds now');
    tick(b);
  }

  function tick(b) {
    var v = b.view, text = '';
    if (v.state === 'open' && v.retryAfterMs !== undefined) {
      var left = v.retryAfterMs - (performance.now() - b.receivedAt);
      text = left > 0 ? 'next trial in ' + Math.ceil(left / 1000) + ' s' : 'next call is a trial';
    } else if (v.state === 'half_open') {
      text = (v.halfOpenCallsInFlight || 0) + ' trial call(s) in flight';
    } else if (v.state === 'forced_open') {
      text = 'until an operator acts';
    }
    if (b.countdown.textContent !== text) b.countdown.textContent = text;
  }

  function renderTransitions(b) {
    b.summary.textContent = 'Recent transitions (' + b.transitions.length + ')';
    b.log.textContent = '';
    b.transitions.slice().reverse().forEach(function (t) {
      var li = make('li', null, clock(t.at) + '  ' + label(t.from) + ' \u2192 ' + label(t.to) + '  (' + t.reason + ')');
      if (t.calls > 0) li.append(make('span', 'muted', '  ' + pct(t.failureRate) + ' failures, ' + pct(t.slowCallRate) + ' slow over ' + t.calls + ' calls'));
      b.log.append(li);
    });
  }

  // ------------------------------------------------------------------ the stream

  function applyView(view, quiet) {
    var b = card(view.name);
    var before = b.view && b.view.state;
    b.view = view;
    b.receivedAt = performance.now();
    renderView(b);
    if (!quiet && before && before !== view.state) announce(view.name + ' is now ' + label(view.state));
    return b;
  }

  function onSnapshot(s) {
    model.breakers.forEach(function (b) { b.root.remove(); });
    model.breakers.clear();
    model.times = s.sampleTimes.slice();
    model.historyMs = s.historyMs;
    el('instance').textContent = 'Instance ' + s.instanceId;
    s.breakers.forEach(function (view) {
      var b = applyView(view, true);
      b.history = view.history;
      b.transitions = view.transitions.slice();
      renderTransitions(b);
      charts.render(b, model.times, model.historyMs);
    });
    el('empty').hidden = s.breakers.length > 0;
    renderInstances(s.instances);
    renderFamilies(s.families || []);
  }

  function onSample(s) {
    model.times.push(s.t);
    var drop = 0;
    while (drop < model.times.length && model.times[drop] < s.t - model.historyMs) drop++;
    model.times.splice(0, drop);
    model.breakers.forEach(function (b) {
      var p = s.points[b.name];
      FIELDS.forEach(function (field, i) {
        b.history[field].push(p ? p[i] : null);
        b.history[field].splice(0, drop);
      });
      if (b.view) charts.render(b, model.times, model.historyMs);
    });
  }

  function onTransitions(items) {
    items.forEach(function (t) {
      var b = model.breakers.get(t.name);
      if (!b) return;
      b.transitions.push(t);
      if (b.transitions.length > 20) b.transitions.shift();
      renderTransitions(b);
      announce(t.name + ': ' + label(t.from) + ' to ' + label(t.to) + ' (' + t.reason + ')');
    });
  }

  function renderInstances(instances) {
    var table = el('instances'), names = Array.from(model.breakers.keys()).sort();
    table.textContent = '';
    var head = make('tr');
    head.append(make('th', null, 'Instance'));
    names.forEach(function (n) { var th = make('th', null, n); th.scope = 'col'; head.append(th); });
    var thead = make('thead'); thead.append(head);
    var tbody = make('tbody');
    instances.forEach(function (i) {
      var row = make('tr');
      var th = make('th', null, i.id + (i.self ? ' (this instance)' : ''));
      th.scope = 'row';
      row.append(th);
      names.forEach(function (n) {
        var v = i.breakers[n], td = make('td');
        if (v) td.append(make('span', 'state state-' + v.state, label(v.state)), ' ' + pct(v.failureRate) + (v.store === 'local_fallback' ? ' (store unreachable)' : v.store === 'unreadable' ? ' (store data unreadable)' : ''));
        row.append(td);
      });
      tbody.append(row);
    });
    table.append(thead, tbody);
  }

  var source = null;
  function connect() {
    connection.textContent = 'Connecting\u2026';
    connection.dataset.status = 'connecting';
    source = new EventSource(config.eventsUrl);
    source.onopen = function () { connection.textContent = 'Live'; connection.dataset.status = 'live'; };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        connection.textContent = 'Disconnected: the server refused the stream; retrying in 5 s';
        connection.dataset.status = 'down';
        source.close();
        setTimeout(connect, 5000);
      } else {
        connection.textContent = 'Reconnecting\u2026';
        connection.dataset.status = 'connecting';
      }
    };
    var on = function (type, fn) { source.addEventListener(type, function (e) { fn(JSON.parse(e.data)); }); };
    on('snapshot', onSnapshot);
    on('breaker', function (view) { applyView(view, false); });
    on('sample', onSample);
    on('transitions', onTransitions);
    on('instances', renderInstances);
    on('families', renderFamilies);
    on('removed', function (r) {
      var b = model.breakers.get(r.name);
      if (b) { b.root.remove(); model.breakers.delete(r.name); }
      el('empty').hidden = model.breakers.size > 0;
    });
  }

  // ------------------------------------------------------------------ actions

  function act(b, action, text) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    var credential = config.readOnly ? '' : el('credential').value;
    if (credential) headers[config.credentialsHeader] = credential;
    var buttons = b.root.querySelectorAll('.actions button');
    buttons.forEach(function (button) { button.disabled = true; });
    b.result.dataset.outcome = 'pending';
    b.result.textContent = text + ' ' + b.name + '\u2026';
    var url = config.adminUrl + '/' + encodeURIComponent(b.name) + '/' + action;
    fetch(url, { method: 'POST', headers: headers, body: '{}', credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        return res.text().then(function (body) {
          var json = null;
          try { json = JSON.parse(body); } catch (e) { json = null; }
          var message = json && json.message ? (Array.isArray(json.message) ? json.message.join('; ') : String(json.message)) : body.slice(0, 200);
          if (message && !/[.!?]$/.test(message)) message += '.';
          if (res.ok) {
            b.result.dataset.outcome = 'ok';
            b.result.textContent = text + ': done, ' + b.name + ' is now ' + label(json && json.state);
          } else if (res.status === 401 || res.status === 403) {
            b.result.dataset.outcome = 'refused';
            b.result.textContent = 'Refused (' + res.status + ' ' + res.statusText + '): ' + message +
              (credential ? '' : ' Enter credentials above and try again.');
          } else {
            b.result.dataset.outcome = 'failed';
            b.result.textContent = 'Failed (' + res.status + ' ' + res.statusText + '): ' + message;
          }
        });
      })
      .catch(function (error) {
        b.result.dataset.outcome = 'failed';
        b.result.textContent = 'Failed: the request did not reach the server (' + error.message + ')';
      })
      .then(function () { buttons.forEach(function (button) { button.disabled = false; }); });
  }

  if (!config.readOnly) {
    el('credentials-section').hidden = false;
    el('credential-header').textContent = config.credentialsHeader;
    el('credentials').addEventListener('submit', function (e) { e.preventDefault(); });
  }
  setInterval(function () { model.breakers.forEach(function (b) { if (b.view) tick(b); }); }, 250);
  connect();
`;

/**
 * The whole script, in one function scope: the charts part first, then the page, then the
 * families table (a function declaration, hoisted: the page calls it once events arrive). The page's
 * Content-Security-Policy carries the hash of exactly this text.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
${DASHBOARD_CHARTS_SCRIPT}${MAIN}${DASHBOARD_FAMILIES_SCRIPT}})();
`;
