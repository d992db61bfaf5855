// The Strata dashboard: draws the state /api/events sends every second, whole each time, so nodes that come and go
// need nothing special. No framework, no build step; everything it loads comes from the dashboard itself.
'use strict';

(() => {
  const TIERS = [
    { key: 'dns', title: 'DNS' },
    { key: 'vip', title: 'VIP' },
    { key: 'lb', title: 'Load balancers' },
    { key: 'web', title: 'Web' },
    { key: 'app', title: 'App' },
    { key: 'db', title: 'Database' },
  ];
  const TOKEN_KEY = 'strata.adminToken';
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = id => document.getElementById(id);

  let state = null;
  let selected = null;
  let pending = null;
  let lastEvent = 0;

  // ---- formatting

  const rate = v => v == null ? '–' : v === 0 ? '0' : v < 10 ? v.toFixed(1) : String(Math.round(v));
  const millis = v => v == null ? '–' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
  const percent = v => v == null ? '–' : `${(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`;
  const clock = iso => new Date(iso).toLocaleTimeString([], { hour12: false });

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text != null) e.textContent = text;
    return e;
  }

  // ---- the diagram

  function boxesOf(tier) {
    if (tier === 'vip') return [{ kind: 'vip' }];
    if (tier === 'db' && !state.database.managed) return [{ kind: 'database' }];
    return state.nodes.filter(n => n.role === tier).map(node => ({ kind: 'node', node }));
  }

  function render() {
    $('zone').textContent = state.zone;
    $('vip-address').textContent = state.vip.address;
    const owner = state.vip.masters.length > 1 ? `nobody: split brain (${state.vip.masters.join(', ')})` : state.vip.owner || 'nobody';
    $('vip-owner').textContent = owner;
    const problem = state.running ? state.problem : 'Not running: the run has ended (strata down), or it has not started.';
    $('problem').hidden = !problem;
    $('problem').textContent = problem || '';

    const tiers = $('tiers');
    for (const tier of TIERS) {
      let section = tiers.querySelector(`.tier[data-tier="${tier.key}"]`);
      if (!section) {
        section = el('section', 'tier');
        section.dataset.tier = tier.key;
        const header = el('header');
        header.append(el('h2', null, tier.title));
        if (tier.key in state.tierSizes) header.append(scaleControls(tier.key));
        section.append(header, el('div', 'nodes'));
        tiers.append(section);
      }
      if (tier.key in state.tierSizes) updateScale(section, tier.key);
      const list = section.querySelector('.nodes');
      const keep = new Set();
      for (const box of boxesOf(tier.key)) {
        const e = box.kind === 'vip' ? vipBox(list) : box.kind === 'database' ? databaseBox(list) : nodeBox(list, box.node);
        keep.add(e);
        list.append(e);  // moves an existing box into its place: the order follows the topology
      }
      for (const e of [...list.children]) if (!keep.has(e)) e.remove();
    }
    if (selected && !state.nodes.some(n => n.name === selected)) closePanel();
    if (selected) renderFacts();
    drawEdges();
  }

  function box(list, name, tag) {
    let e = list.querySelector(`[data-node="${CSS.escape(name)}"]`);
    if (!e) {
      e = el(tag, 'node');
      e.dataset.node = name;
      if (tag === 'button') {
        e.type = 'button';
        e.addEventListener('click', () => openPanel(name));
      }
    }
    return e;
  }

  function nodeBox(list, node) {
    const e = box(list, node.name, 'button');
    e.dataset.state = node.state;
    e.dataset.role = node.role;
    e.classList.toggle('owner', state.vip.owner === node.name);
    e.classList.toggle('selected', selected === node.name);
    const title = el('span', 'title');
    title.append(el('span', 'name', node.name));
    if (state.vip.owner === node.name) title.append(el('span', 'badge', 'VIP'));
    title.append(el('span', 'state', node.state));
    const parts = [title];
    if (node.vrrp) parts.push(el('span', 'detail vrrp', `VRRP ${node.vrrp.state} · priority ${node.vrrp.priority}`));
    // Ready, but no proxy in front sends it requests yet (a new node being checked in) or any more (checks failing).
    if (node.state === 'ready' && node.seenBy.length > 0 && !node.seenBy.some(v => v.state === 'UP')) {
      parts.push(el('span', 'detail warn', 'not in rotation'));
    }
    if (node.load) {
      const { requestsPerSecond, p99Milliseconds, errorRate } = node.load;
      parts.push(el('span', 'numbers', [
        `${rate(requestsPerSecond)} req/s`,
        p99Milliseconds == null ? null : `p99 ${millis(p99Milliseconds)}`,
        errorRate == null ? null : `${percent(errorRate)} err`,
      ].filter(Boolean).join(' · ')));
    } else if (node.state !== 'down') {
      parts.push(el('span', 'detail', node.address));
    }
    e.replaceChildren(...parts);
    return e;
  }

  function vipBox(list) {
    const e = box(list, 'vip', 'div');
    e.classList.add('vip');
    e.dataset.state = state.vip.owner ? 'ready' : 'down';
    const title = el('span', 'title');
    // Host and port, so that a narrow box breaks the line between them, not inside the port.
    const name = el('span', 'name');
    const colon = state.vip.address.lastIndexOf(':');
    name.append(el('span', null, state.vip.address.slice(0, colon)), el('wbr'), el('span', null, state.vip.address.slice(colon)));
    title.append(name);
    const held = el('span', 'detail');
    held.append('held by ', el('strong', null, state.vip.owner || 'nobody'));
    e.replaceChildren(title, held);
    return e;
  }

  function databaseBox(list) {
    const e = box(list, state.database.id, 'div');
    e.classList.add('database');
    e.dataset.state = state.database.engine;
    const title = el('span', 'title');
    title.append(el('span', 'name', state.database.engine === 'sqlite' ? 'SQLite' : 'MySQL'));
    e.replaceChildren(title, el('span', 'detail', state.database.detail));
    return e;
  }

  function scaleControls(tier) {
    const controls = el('span', 'scale');
    const minus = el('button', null, '−');
    const plus = el('button', null, '+');
    minus.type = plus.type = 'button';
    minus.dataset.delta = '-1';
    plus.dataset.delta = '1';
    minus.setAttribute('aria-label', `Remove a ${tier} node`);
    plus.setAttribute('aria-label', `Add a ${tier} node`);
    for (const b of [minus, plus]) {
      b.addEventListener('click', () => {
        const size = state.tierSizes[tier] + Number(b.dataset.delta);
        act('/api/scale', { tier, size }, `scale ${tier}=${size}`);
      });
    }
    controls.append(minus, el('span', 'size'), plus);
    return controls;
  }

  function updateScale(section, tier) {
    const size = state.tierSizes[tier];
    section.querySelector('.scale .size').textContent = String(size);
    const [minus, plus] = section.querySelectorAll('.scale button');
    minus.disabled = pending !== null || size <= 1;
    plus.disabled = pending !== null || size >= state.maxTierSize;
  }

  // Edges: from each box's side to the next tier's (laptop), or from its bottom to the next tier's top (phone).
  function drawEdges() {
    const diagram = $('diagram');
    const svg = $('edges');
    const origin = diagram.getBoundingClientRect();
    svg.setAttribute('width', String(diagram.scrollWidth));
    svg.setAttribute('height', String(diagram.scrollHeight));
    const rectOf = name => {
      const e = diagram.querySelector(`[data-node="${CSS.escape(name)}"]`);
      if (!e) return null;
      const r = e.getBoundingClientRect();
      const left = r.left - origin.left + diagram.scrollLeft;
      const top = r.top - origin.top + diagram.scrollTop;
      return { left, top, right: left + r.width, bottom: top + r.height, cx: left + r.width / 2, cy: top + r.height / 2 };
    };
    const nodes = new Map(state.nodes.map(n => [n.name, n]));
    const keep = new Set();
    for (const edge of state.edges) {
      const a = rectOf(edge.from);
      const b = rectOf(edge.to);
      if (!a || !b) continue;
      const key = `${edge.from}>${edge.to}`;
      let path = svg.querySelector(`path[data-edge="${CSS.escape(key)}"]`);
      if (!path) {
        path = document.createElementNS(SVG, 'path');
        path.dataset.edge = key;
        path.append(document.createElementNS(SVG, 'title'));
        svg.append(path);
      }
      keep.add(path);
      let d;
      if (b.left >= a.right - 1) {
        const mid = (a.right + b.left) / 2;
        d = `M${a.right},${a.cy} C${mid},${a.cy} ${mid},${b.cy} ${b.left},${b.cy}`;
      } else {
        const mid = (a.bottom + b.top) / 2;
        d = `M${a.cx},${a.bottom} C${a.cx},${mid} ${b.cx},${mid} ${b.cx},${b.top}`;
      }
      path.setAttribute('d', d);
      const dead = nodes.get(edge.from)?.state === 'down' || nodes.get(edge.to)?.state === 'down';
      const perSecond = edge.requestsPerSecond;
      const kind = dead ? 'dead' : perSecond == null ? 'static' : perSecond > 0 ? 'flow' : 'idle';
      path.setAttribute('class', kind + (edge.from === 'vip' && edge.to === state.vip.owner ? ' owner' : ''));
      path.setAttribute('stroke-width', kind === 'flow' ? (1.5 + Math.min(9, Math.log2(1 + perSecond) * 1.5)).toFixed(1) : '1.5');
      path.firstChild.textContent = `${edge.from} → ${edge.to}` + (perSecond == null ? '' : `: ${rate(perSecond)} req/s`);
    }
    for (const path of [...svg.children]) if (!keep.has(path)) path.remove();
  }

  // ---- a node's panel

  function openPanel(name) {
    selected = name;
    $('panel').hidden = false;
    $('main').classList.add('with-panel');
    $('panel-log').textContent = '';
    $('panel-changes').replaceChildren();
    render();
    refreshPanel();
  }

  function closePanel() {
    selected = null;
    $('panel').hidden = true;
    $('main').classList.remove('with-panel');
    for (const e of document.querySelectorAll('.node.selected')) e.classList.remove('selected');
    requestAnimationFrame(drawEdges);
  }

  function renderFacts() {
    const node = state.nodes.find(n => n.name === selected);
    if (!node) return;
    $('panel-title').textContent = node.name;
    const facts = [
      ['state', node.state],
      ['role', node.role],
      ['address', node.address],
      ['management', node.managementUrl],
      ['pid', node.pid ?? '–'],
    ];
    if (node.vrrp) facts.push(['VRRP', `${node.vrrp.state}, priority ${node.vrrp.priority}${node.vrrp.listening ? ', on the VIP' : ''}`]);
    if (node.load) {
      facts.push(['requests/s', rate(node.load.requestsPerSecond)], ['p99', millis(node.load.p99Milliseconds)], ['errors', percent(node.load.errorRate)]);
    }
    $('panel-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, String(v))]));

    $('panel-seen-section').hidden = node.seenBy.length === 0;
    const rows = node.seenBy.map(v => {
      const tr = el('tr');
      tr.append(el('td', null, v.proxy), el('td', null, v.state), el('td', null, String(v.active)), el('td', null, v.check ?? '–'));
      return tr;
    });
    const head = el('tr');
    head.append(el('th', null, 'proxy'), el('th', null, 'sees it'), el('th', null, 'in flight'), el('th', null, 'last check'));
    $('panel-seen').replaceChildren(head, ...rows);
    renderActions(node);
  }

  function renderActions(node) {
    const container = $('panel-actions');
    const wanted = [];
    if (node.role === 'web' || node.role === 'app') wanted.push('drain', 'ready', 'maintenance');
    wanted.push(node.state === 'down' ? 'start' : 'kill');
    const key = `${node.name}:${wanted.join(',')}`;
    if (container.dataset.key !== key) {
      container.dataset.key = key;
      container.replaceChildren(...wanted.map(action => actionButton(node.name, action)));
    }
    for (const b of container.children) b.disabled = pending !== null;
  }

  function actionButton(name, action) {
    const b = el('button', action === 'kill' ? 'danger' : null, action[0].toUpperCase() + action.slice(1));
    b.type = 'button';
    b.dataset.action = action;
    b.addEventListener('click', () => {
      // A kill asks once more: a mis-tap on a phone should not crash a node.
      if (action === 'kill' && !b.classList.contains('armed')) {
        b.classList.add('armed');
        b.textContent = `Kill ${name}? Click again`;
        setTimeout(() => { b.classList.remove('armed'); b.textContent = 'Kill'; }, 4000);
        return;
      }
      act(`/api/nodes/${encodeURIComponent(name)}/${action}`, null, `${action} ${name}`);
    });
    return b;
  }

  async function refreshPanel() {
    const name = selected;
    if (!name) return;
    try {
      const [history, log] = await Promise.all([
        fetch(`/api/nodes/${encodeURIComponent(name)}/history`).then(r => r.json()),
        fetch(`/api/nodes/${encodeURIComponent(name)}/log?n=60`).then(r => r.json()),
      ]);
      if (selected !== name) return;
      drawHistory(history);
      const pre = $('panel-log');
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = (log.lines || []).join('\n') || '(empty)';
      $('panel-log-path').textContent = log.path || '';
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    } catch {
      // The next refresh tries again; the connection line says when the dashboard is gone.
    }
  }

  function drawHistory(history) {
    const svg = $('panel-history');
    const now = Date.now();
    const period = history.period * 1000;
    const start = now - period;
    $('panel-period').textContent = `${Math.round(history.period / 60)} minutes`;
    const changes = history.changes;
    const rects = changes.map((change, i) => {
      const from = Math.max(start, Date.parse(change.at));
      const to = i + 1 < changes.length ? Date.parse(changes[i + 1].at) : now;
      const r = document.createElementNS(SVG, 'rect');
      r.setAttribute('x', ((from - start) / period * 600).toFixed(2));
      r.setAttribute('width', Math.max(0.5, (to - from) / period * 600).toFixed(2));
      r.setAttribute('y', '0');
      r.setAttribute('height', '20');
      r.setAttribute('class', change.state);
      return r;
    });
    svg.replaceChildren(...rects);
    $('panel-changes').replaceChildren(...changes.slice(-8).reverse().map(c => el('li', null, `${clock(c.at)}  ${c.state}`)));
  }

  // ---- actions, behind the admin token

  function askToken() {
    const dialog = $('token-dialog');
    const input = $('token-input');
    input.value = '';
    return new Promise(resolve => {
      $('token-form').onsubmit = e => {
        e.preventDefault();
        const token = input.value.trim();
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        resolve(token || null);
        dialog.close();
      };
      $('token-cancel').onclick = () => dialog.close();
      // Closed without a token (Cancel, Escape): the action is not taken.
      dialog.onclose = () => resolve(null);
      dialog.showModal();
      input.focus();
    });
  }

  async function post(url, body, token) {
    return fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  async function act(url, body, label) {
    if (pending) return;
    let token = sessionStorage.getItem(TOKEN_KEY) || await askToken();
    if (!token) return;
    pending = label;
    toast(`${label}…`);
    if (state) render();
    try {
      let response = await post(url, body, token);
      if (response.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        toast('That admin token was refused.', true);
        token = await askToken();
        if (!token) return;
        response = await post(url, body, token);
      }
      const result = await response.json().catch(() => ({}));
      toast(result.output || result.detail || `${label}: HTTP ${response.status}`, !response.ok);
    } catch (e) {
      toast(`${label}: ${e.message}`, true);
    } finally {
      pending = null;
      if (state) render();
      refreshPanel();
    }
  }

  let toastTimer = 0;
  function toast(text, error = false) {
    const t = $('toast');
    t.textContent = text;
    t.classList.toggle('error', error);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, error ? 10000 : 6000);
  }

  // ---- the live connection

  function connection(kind, text) {
    const c = $('connection');
    c.dataset.state = kind;
    c.textContent = text;
  }

  function connect() {
    const events = new EventSource('/api/events');
    events.addEventListener('state', e => {
      state = JSON.parse(e.data);
      lastEvent = Date.now();
      connection('live', `live · ${clock(state.at)}`);
      render();
    });
    events.onerror = () => connection('lost', 'reconnecting…');
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('panel-close').addEventListener('click', closePanel);
    new ResizeObserver(() => { if (state) drawEdges(); }).observe($('diagram'));
    setInterval(() => {
      if (selected) refreshPanel();
      if (lastEvent && Date.now() - lastEvent > 5000) connection('lost', `no update for ${Math.round((Date.now() - lastEvent) / 1000)} s`);
    }, 2000);
    connect();
  });
})();
