/**
 * The page's two small charts per breaker, as inline SVG: failure and slow-call rate against their
 * thresholds, and calls per second by outcome. Part of the page's script (see dashboard-client.ts):
 * it defines `charts` for the rest of the script. Every line has a text equivalent (the legend,
 * and the chart's aria-label), and outcomes differ by dash pattern as well as colour.
 */
export const DASHBOARD_CHARTS_SCRIPT = String.raw`
  var charts = (function () {
    var SVG = 'http://www.w3.org/2000/svg', W = 320, H = 96, PAD = 14;
    var OUTCOMES = [
      ['successful', 'successful', 'ok'], ['failed', 'failed', 'failed'], ['timeout', 'timed out', 'timeout'],
      ['notPermitted', 'rejected', 'rejected'], ['ignored', 'ignored', 'ignored']
    ];

    function svg(tag, attrs) {
      var node = document.createElementNS(SVG, tag);
      Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
      return node;
    }
    function make(tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text !== undefined) node.textContent = text;
      return node;
    }
    function pct(v) { return (Math.round(v * 10) / 10) + '%'; }

    function chart(caption) {
      var figure = make('figure', 'chart');
      var svgNode = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
      var legend = make('p', 'legend');
      figure.append(make('figcaption', null, caption), svgNode, legend);
      return { figure: figure, svg: svgNode, legend: legend };
    }

  
    function path(values, times, start, span, y) {
      var d = '', pen = false;
      for (var i = 0; i < values.length; i++) {
        if (values[i] === null || values[i] === undefined) { pen = false; continue; }
        var x = ((times[i] - start) / span) * W;
        d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y(values[i]).toFixed(1);
        pen = true;
      }
      return d;
    }

    function line(target, d, cls) { if (d) target.append(svg('path', { d: d, 'class': 'line ' + cls })); }

    function level(target, value, y, cls, text) {
      target.append(svg('line', { x1: 0, x2: W, y1: y(value), y2: y(value), 'class': 'threshold ' + cls }));
      var t = svg('text', { x: W - 2, y: y(value) - 2, 'text-anchor': 'end', 'class': 'axis ' + cls });
      t.textContent = text;
      target.append(t);
    }

    function frame(target, top, bottom) {
      target.textContent = '';
      target.append(svg('rect', { x: 0, y: 0, width: W, height: H, 'class': 'plot' }));
      var a = svg('text', { x: 2, y: 10, 'class': 'axis' }); a.textContent = top;
      var c = svg('text', { x: 2, y: H - 2, 'class': 'axis' }); c.textContent = bottom;
      var n = svg('text', { x: W - 2, y: H - 2, 'text-anchor': 'end', 'class': 'axis' }); n.textContent = 'now';
      target.append(a, c, n);
    }

    function render(b, times, historyMs) {
      var t = b.view.thresholds, h = b.history;
      // The last historyMs, or less while there is less (at least a minute): a young app's charts use the width.
      var end = times.length ? times[times.length - 1] : 0;
      var span = Math.min(historyMs, Math.max(60000, times.length ? end - times[0] : 0)), start = end - span;
      var since = span >= 120000 ? '-' + Math.round(span / 60000) + ' min' : '-' + Math.round(span / 1000) + ' s';
      var y = function (v) { return PAD + (1 - Math.min(v, 100) / 100) * (H - 2 * PAD); };
      frame(b.rates.svg, '100%', since);
      level(b.rates.svg, t.failureRateThreshold, y, 'failed', 'trips at ' + t.failureRateThreshold + '%');
      if (t.slowCallRateThreshold !== undefined) level(b.rates.svg, t.slowCallRateThreshold, y, 'slow', 'slow trips at ' + t.slowCallRateThreshold + '%');
      line(b.rates.svg, path(h.failureRate, times, start, span, y), 'failed');
      if (t.slowCallRateThreshold !== undefined) line(b.rates.svg, path(h.slowCallRate, times, start, span, y), 'slow');
      var fr = last(h.failureRate), sr = last(h.slowCallRate);
      b.rates.legend.textContent = 'failure rate ' + pct(fr) + ' (trips at ' + pct(t.failureRateThreshold) + ')' +
        (t.slowCallRateThreshold === undefined ? '' : ', slow-call rate ' + pct(sr) + ' (trips at ' + pct(t.slowCallRateThreshold) + ')');
      b.rates.svg.setAttribute('aria-label', b.rates.legend.textContent + ', over the last ' + since.slice(1));

      var top = 1;
      OUTCOMES.forEach(function (o) { h[o[0]].forEach(function (v) { if (v !== null && v > top) top = v; }); });
      top = niceCeil(top);
      var yc = function (v) { return PAD + (1 - v / top) * (H - 2 * PAD); };
      frame(b.calls.svg, top + '/s', since);
      var parts = [];
      OUTCOMES.forEach(function (o) {
        line(b.calls.svg, path(h[o[0]], times, start, span, yc), o[2]);
        parts.push(o[1] + ' ' + last(h[o[0]]) + '/s');
      });
      b.calls.legend.textContent = '';
      OUTCOMES.forEach(function (o, i) { b.calls.legend.append(make('span', 'key ' + o[2], parts[i])); });
      b.calls.svg.setAttribute('aria-label', 'Calls per second: ' + parts.join(', '));
    }

    function last(values) {
      for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
      return 0;
    }
    function niceCeil(v) {
      var p = Math.pow(10, Math.floor(Math.log10(v)));
      var steps = [1, 2, 5, 10];
      for (var i = 0; i < steps.length; i++) if (v <= steps[i] * p) return steps[i] * p;
      return 10 * p;
    }

    return { chart: chart, render: render };
  })();
`;
