// permgraph web UI. Everything from the API is attacker-controlled text
// (directory names, policy names): it reaches the page only through
// textContent and setAttribute, never as markup.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
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
  function nm(name, id) { return name || id; }
  var ESC = { CanAddMember: 1, CanAttachPolicy: 1, CanEditPolicy: 1, CanCreateKey: 1, CanUpdateTrust: 1, CanPassRole: 1, CanAssignRole: 1, CanAddSecret: 1, CanPushImage: 1 };

  function api(path, params) {
    var qs = new URLSearchParams(params || {}).toString();
    return fetch('/api/' + path + (qs ? '?' + qs : ''), { headers: { Accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body && body.error ? body.error : r.statusText); }
        return body;
      });
    });
  }
  function fail(box) { return function (err) { box.textContent = ''; box.appendChild(el('p', err.message, 'error')); }; }

  // A path (list of hops) as an SVG diagram: the layout of the report.
  var W = 170, H = 44, G = 110, PAD = 10;
  function diagram(hops) {
    var names = [hops.length ? nm(hops[0].from_name, hops[0].from) : ''];
    hops.forEach(function (h) { names.push(nm(h.to_name, h.to)); });
    var width = PAD * 2 + names.length * W + (names.length - 1) * G;
    var s = svg('svg', { 'class': 'pathsvg', role: 'img', viewBox: '0 0 ' + width + ' 90', width: width, height: 90 });
    s.appendChild(svg('title', {}, names.join(' \u2192 ')));
    hops.forEach(function (h, i) {
      var x1 = PAD + i * (W + G) + W, x2 = x1 + G;
      var g = svg('g', { 'class': 'edge' + (h.conditional ? ' cond' : '') + (ESC[h.edge] ? ' esc' : '') });
      g.appendChild(svg('line', { x1: x1, y1: 52, x2: x2 - 8, y2: 52 }));
      g.appendChild(svg('polygon', { points: (x2 - 8) + ',46 ' + x2 + ',52 ' + (x2 - 8) + ',58' }));
      g.appendChild(svg('text', { x: (x1 + x2) / 2, y: 40, 'text-anchor': 'middle' }, h.edge + (h.conditional ? ' (if)' : '')));
      s.appendChild(g);
    });
    names.forEach(function (n, i) {
      var x = PAD + i * (W + G);
      var g = svg('g', { 'class': 'node' + (i === 0 ? ' start' : '') + (i === names.length - 1 ? ' cap' : '') });
      g.appendChild(svg('title', {}, n));
      g.appendChild(svg('rect', { x: x, y: 30, width: W, height: H, rx: 6 }));
      g.appendChild(svg('text', { x: x + W / 2, y: 57, 'text-anchor': 'middle' }, clip(n, 24)));
      s.appendChild(g);
    });
    var box = el('div', undefined, 'diagram');
    box.appendChild(s);
    return box;
  }
  function hopList(hops) {
    var ol = el('ol');
    hops.forEach(function (h) {
      var li = el('li', nm(h.from_name, h.from) + ' \u2014' + h.edge + '\u2192 ' + nm(h.to_name, h.to) + (h.conditional ? ' (only if: ' + h.condition + ')' : ''));
      if (h.evidence && h.evidence.length) {
        var ul = el('ul', undefined, 'evidence');
        h.evidence.forEach(function (e) { ul.appendChild(el('li', e.source + (e.statement ? ' statement ' + e.statement : '') + (e.detail ? ': ' + e.detail : ''))); });
        li.appendChild(ul);
      }
      ol.appendChild(li);
    });
    return ol;
  }
  function row(cells) {
    var tr = el('tr');
    cells.forEach(function (c) { tr.appendChild(el('td', c)); });
    return tr;
  }

  // Who can deploy: sortable, filterable, paginated.
  var dep = { rows: [], q: '', cloud: '', key: 'name', dir: 1, page: 0, size: 50 };
  function loadDeployers() {
    var params = { include_conditional: $('f-cond').checked ? '1' : '0' };
    if (dep.cloud) { params.cloud = dep.cloud; }
    api('who-can', params).then(function (res) {
      dep.rows = res.principals.map(function (p) {
        p.scopes = (p.scopes || []).join(', ');
        p.text = p.through_name || '';
        return p;
      });
      $('status').textContent = 'as of ' + res.at + ' \u2014 snapshots: ' + res.snapshots.join(', ');
      renderDeployers();
    }).catch(fail($('deploy-detail')));
  }
  function renderDeployers() {
    var q = dep.q.toLowerCase();
    var list = dep.rows.filter(function (p) {
      return !q || (p.name + ' ' + p.id + ' ' + p.scopes + ' ' + p.text).toLowerCase().indexOf(q) >= 0;
    });
    list.sort(function (a, b) {
      var x = a[dep.key], y = b[dep.key];
      if (typeof x === 'number' || typeof x === 'boolean') { return (Number(x) - Number(y)) * dep.dir; }
      x = String(x).toLowerCase(); y = String(y).toLowerCase();
      return x < y ? -dep.dir : x > y ? dep.dir : 0;
    });
    var pages = Math.max(1, Math.ceil(list.length / dep.size));
    dep.page = Math.min(Math.max(dep.page, 0), pages - 1);
    var tbody = $('deployers').querySelector('tbody');
    tbody.textContent = '';
    list.slice(dep.page * dep.size, (dep.page + 1) * dep.size).forEach(function (p) {
      var tr = row([p.name, p.kind, p.via, p.conditional ? 'yes' : 'no', p.scopes, p.hops, p.text]);
      tr.tabIndex = 0;
      tr.addEventListener('click', function () { showDeployer(p); });
      tbody.appendChild(tr);
    });
    $('page-info').textContent = list.length + ' of ' + dep.rows.length + ' \u2014 page ' + (dep.page + 1) + ' of ' + pages;
    $('prev').disabled = dep.page === 0;
    $('next').disabled = dep.page >= pages - 1;
  }
  function showDeployer(p) {
    var box = $('deploy-detail');
    box.textContent = '';
    box.appendChild(el('h3', p.name));
    box.appendChild(el('p', p.kind + ' ' + p.id + ' \u2014 ' + p.via + ' in ' + p.scopes, 'meta'));
    // The list comes without paths (large answers would not fit); the
    // shortest path to deploy is asked for when a row is opened.
    box.dataset.id = p.id;
    api('path', { from: p.id, to: 'deploy', all: p.conditional ? '1' : '0' }).then(function (res) {
      if (box.dataset.id !== p.id) { return; } // another row was opened meanwhile
      if (!res.paths.length) { box.appendChild(el('p', 'no path')); return; }
      box.appendChild(diagram(res.paths[0].hops));
      box.appendChild(hopList(res.paths[0].hops));
    }).catch(fail(box));
  }
  $('filter').addEventListener('input', function (e) { dep.q = e.target.value; dep.page = 0; renderDeployers(); });
  $('f-cloud').addEventListener('change', function (e) { dep.cloud = e.target.value; dep.page = 0; loadDeployers(); });
  $('f-cond').addEventListener('change', function () { dep.page = 0; loadDeployers(); });
  $('prev').addEventListener('click', function () { dep.page--; renderDeployers(); });
  $('next').addEventListener('click', function () { dep.page++; renderDeployers(); });
  Array.prototype.forEach.call($('deployers').querySelectorAll('th[data-key]'), function (th) {
    th.classList.add('sortable');
    th.addEventListener('click', function () {
      var k = th.getAttribute('data-key');
      dep.dir = dep.key === k ? -dep.dir : 1;
      dep.key = k;
      renderDeployers();
    });
  });

  // Principal search and what-can.
  function whatCan(id) {
    var box = $('whatcan');
    box.textContent = '';
    api('what-can', { principal: id }).then(function (res) {
      box.appendChild(el('h3', res.principal.name));
      box.appendChild(el('p', res.principal.kind + ' ' + res.principal.id, 'meta'));
      [['Capabilities', res.capabilities], ['Identities it reaches', res.identities]].forEach(function (sec) {
        box.appendChild(el('h4', sec[0] + ' (' + sec[1].length + ')'));
        sec[1].forEach(function (c) {
          box.appendChild(el('p', c.name + ' \u2014 ' + c.via + (c.conditional ? ', conditional' : '')));
          box.appendChild(diagram(c.path));
          box.appendChild(hopList(c.path));
        });
      });
      if (res.policies.length) {
        box.appendChild(el('h4', 'Policies'));
        var ul = el('ul');
        res.policies.forEach(function (p) { ul.appendChild(el('li', p.name + ' (' + p.via + ')')); });
        box.appendChild(ul);
      }
    }).catch(fail(box));
  }
  $('search-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var hits = $('hits');
    hits.textContent = '';
    api('search', { q: $('q').value }).then(function (list) {
      if (!list.length) { hits.appendChild(el('li', 'no match')); }
      list.forEach(function (h) {
        var li = el('li', h.name + ' \u2014 ' + h.kind + ' ' + h.id);
        li.tabIndex = 0;
        li.addEventListener('click', function () { whatCan(h.id); $('p-from').value = h.id; });
        hits.appendChild(li);
      });
      if (list.length === 1) { whatCan(list[0].id); }
    }).catch(fail($('whatcan')));
  });

  // Path.
  $('path-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var box = $('path-out');
    box.textContent = '';
    api('path', { from: $('p-from').value, to: $('p-to').value, all: $('p-all').checked ? '1' : '0' }).then(function (res) {
      if (!res.paths.length) { box.appendChild(el('p', 'no path')); return; }
      res.paths.forEach(function (p, i) {
        box.appendChild(el('h4', 'path ' + (i + 1) + ': ' + p.hops.length + ' hop(s), via ' + p.via + (p.conditional ? ' (conditional)' : '')));
        box.appendChild(diagram(p.hops));
        box.appendChild(hopList(p.hops));
      });
    }).catch(fail(box));
  });

  // Snapshots and diff.
  api('snapshots').then(function (ms) {
    var tbody = $('snap-table').querySelector('tbody');
    ms.forEach(function (m) { tbody.appendChild(row([m.id, m.at, m.status, m.nodes, m.edges, m.added, m.removed, m.changed])); });
  }).catch(fail($('diff-out')));
  $('diff-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var box = $('diff-out');
    box.textContent = '';
    api('diff', { from: $('d-from').value, to: $('d-to').value }).then(function (res) {
      box.appendChild(el('p', 'from ' + res.from + ' to ' + res.to + ' \u2014 ' + res.capabilities.length + ' capability change(s)', 'meta'));
      var t = el('table');
      var thead = el('thead');
      thead.appendChild(row(['change', 'principal', 'cloud', 'scope', 'before', 'after', 'why']));
      t.appendChild(thead);
      var tb = el('tbody');
      res.capabilities.forEach(function (c) { tb.appendChild(row([c.change, c.name, c.cloud, c.scope, c.before, c.after, c.summary])); });
      t.appendChild(tb);
      box.appendChild(t);
      [['escalation edges added', res.escalations.added], ['escalation edges removed', res.escalations.removed]].forEach(function (sec) {
        if (!sec[1].length) { return; }
        box.appendChild(el('h4', sec[0]));
        var ul = el('ul');
        sec[1].forEach(function (h) { ul.appendChild(el('li', nm(h.from_name, h.from) + ' \u2014' + h.edge + '\u2192 ' + nm(h.to_name, h.to))); });
        box.appendChild(ul);
      });
    }).catch(fail(box));
  });

  // Alerts.
  api('alerts').then(function (list) {
    var tbody = $('alert-table').querySelector('tbody');
    list.forEach(function (a) { tbody.appendChild(row([a.time, a.rule + ' ' + a.title, a.severity, (a.attack || []).join(', '), a.actor ? a.actor.name : '', a.summary])); });
  }).catch(function () {});

  loadDeployers();
}());
