// permgraph review report: sortable, filterable, paginated deployer table
// and path diagrams. Names are attacker-controlled: they only ever reach the
// page through textContent and setAttribute, never as markup.
(function () {
  'use strict';
  var src = document.getElementById('report-data');
  if (!src) { return; }
  var data = JSON.parse(src.textContent);
  var rows = data.deployers || [];
  var state = { q: '', cloud: '', cat: '', key: 'n', dir: 1, page: 0, size: 50 };
  var table = document.getElementById('deployers');
  var tbody = table.querySelector('tbody');
  var info = document.getElementById('page-info');
  var detail = document.getElementById('detail');
  var NS = 'http://www.w3.org/2000/svg';

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }

  // Same layout as the server-rendered diagrams (report/html.go).
  var W = 170, H = 44, G = 110, PAD = 10;
  function diagram(hops) {
    var names = [hops.length ? hops[0][0] : ''];
    hops.forEach(function (h) { names.push(h[2]); });
    var width = PAD * 2 + names.length * W + (names.length - 1) * G;
    var s = svg('svg', { 'class': 'pathsvg', role: 'img', viewBox: '0 0 ' + width + ' 90', width: width, height: 90 });
    s.appendChild(svg('title', {}, names.join(' \u2192 ')));
    hops.forEach(function (h, i) {
      var x1 = PAD + i * (W + G) + W, x2 = x1 + G;
      var cls = 'edge' + (h[3] ? ' cond' : '') + (h[4] ? ' esc' : '');
      var g = svg('g', { 'class': cls });
      g.appendChild(svg('line', { x1: x1, y1: 52, x2: x2 - 8, y2: 52 }));
      g.appendChild(svg('polygon', { points: (x2 - 8) + ',46 ' + x2 + ',52 ' + (x2 - 8) + ',58' }));
      g.appendChild(svg('text', { x: (x1 + x2) / 2, y: 40, 'text-anchor': 'middle' }, h[1] + (h[3] ? ' (if)' : '')));
      s.appendChild(g);
    });
    names.forEach(function (n, i) {
      var x = PAD + i * (W + G);
      var cls = 'node' + (i === 0 ? ' start' : '') + (i === names.length - 1 ? ' cap' : '');
      var g = svg('g', { 'class': cls });
      g.appendChild(svg('title', {}, n));
      g.appendChild(svg('rect', { x: x, y: 30, width: W, height: H, rx: 6 }));
      g.appendChild(svg('text', { x: x + W / 2, y: 57, 'text-anchor': 'middle' }, clip(n, 24)));
      s.appendChild(g);
    });
    return s;
  }

  function show(r, tr) {
    Array.prototype.forEach.call(tbody.querySelectorAll('tr.sel'), function (x) { x.classList.remove('sel'); });
    if (tr) { tr.classList.add('sel'); }
    detail.textContent = '';
    detail.appendChild(el('h3', r.n));
    detail.appendChild(el('p', r.k + ' ' + r.i + ' \u2014 ' + r.g + ' in ' + r.s, 'meta'));
    var box = el('div', undefined, 'diagram');
    box.appendChild(diagram(r.p));
    detail.appendChild(box);
    var ol = el('ol');
    r.p.forEach(function (h) {
      var li = el('li', h[0] + ' \u2014' + h[1] + '\u2192 ' + h[2]);
      if (h[5] && h[5].length) {
        var ul = el('ul', undefined, 'evidence');
        h[5].forEach(function (e) { ul.appendChild(el('li', e)); });
        li.appendChild(ul);
      }
      ol.appendChild(li);
    });
    detail.appendChild(ol);
  }

  function filtered() {
    var q = state.q.toLowerCase(), out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state.cloud && r.c !== state.cloud) { continue; }
      if (state.cat && r.g !== state.cat) { continue; }
      if (q && (r.n + ' ' + r.i + ' ' + r.s + ' ' + r.t).toLowerCase().indexOf(q) < 0) { continue; }
      out.push(r);
    }
    var k = state.key, d = state.dir;
    out.sort(function (a, b) {
      var x = a[k], y = b[k];
      if (typeof x === 'number') { return (x - y) * d; }
      x = String(x).toLowerCase(); y = String(y).toLowerCase();
      return x < y ? -d : x > y ? d : 0;
    });
    return out;
  }

  function render() {
    var list = filtered();
    var pages = Math.max(1, Math.ceil(list.length / state.size));
    if (state.page >= pages) { state.page = pages - 1; }
    if (state.page < 0) { state.page = 0; }
    tbody.textContent = '';
    var start = state.page * state.size;
    list.slice(start, start + state.size).forEach(function (r) {
      var tr = el('tr');
      tr.tabIndex = 0;
      [r.n, r.k, r.c, r.g, r.s, r.h, r.t].forEach(function (c, i) {
        tr.appendChild(el('td', String(c), i === 3 ? 'cat-' + r.g : undefined));
      });
      tr.addEventListener('click', function () { show(r, tr); });
      tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { show(r, tr); } });
      tbody.appendChild(tr);
    });
    info.textContent = list.length + ' of ' + rows.length + ' deployers \u2014 page ' + (state.page + 1) + ' of ' + pages;
    document.getElementById('prev').disabled = state.page === 0;
    document.getElementById('next').disabled = state.page >= pages - 1;
  }

  document.getElementById('filter').addEventListener('input', function (e) { state.q = e.target.value; state.page = 0; render(); });
  document.getElementById('f-cloud').addEventListener('change', function (e) { state.cloud = e.target.value; state.page = 0; render(); });
  document.getElementById('f-cat').addEventListener('change', function (e) { state.cat = e.target.value; state.page = 0; render(); });
  document.getElementById('prev').addEventListener('click', function () { state.page--; render(); });
  document.getElementById('next').addEventListener('click', function () { state.page++; render(); });
  Array.prototype.forEach.call(table.querySelectorAll('th[data-key]'), function (th) {
    th.classList.add('sortable');
    th.tabIndex = 0;
    function sort() {
      var k = th.getAttribute('data-key');
      state.dir = state.key === k ? -state.dir : 1;
      state.key = k;
      Array.prototype.forEach.call(table.querySelectorAll('th[data-key]'), function (x) { x.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
      render();
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { sort(); } });
  });
  document.getElementById('controls').hidden = false;
  render();
  var first = tbody.querySelector('tr');
  if (first) { first.click(); }
}());
