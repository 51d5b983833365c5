// console.js - polls the console's JSON API and draws the page. Every value
// that comes from Kafka or the database is put in with textContent, never as
// HTML: a message's value is data, not markup.
'use strict';

const $ = (id) => document.getElementById(id);
let refreshMs = 2000;
let chosenTopic = null;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = el('td', c.text, c.cls);
    if (c.id) td.id = c.id;
    tr.appendChild(td);
  }
  return tr;
}

function fill(tableId, rows) {
  const tbody = $(tableId).tBodies[0];
  tbody.replaceChildren(...rows);
}

function fmtInt(v) { return v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US'); }
function fmtMs(v) { return v === null || v === undefined ? '–' : Number(v).toFixed(3); }
function fmtBound(v) { return String(Number(Number(v).toPrecision(3))); }
function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function drawSummary(s) {
  const a = s.acks || {};
  $('acks-distinct').textContent = a.distinct === null ? 'not tracked' : fmtInt(a.distinct);
  const parts = [fmtInt(a.messages) + ' ack messages'];
  if (a.duplicates) parts.push(fmtInt(a.duplicates) + ' duplicates');
  if (a.bad) parts.push(fmtInt(a.bad) + ' unreadable');
  $('acks-detail').textContent = parts.join(', ') + ' on ' + s.ack_topic;
  $('p50').textContent = fmtMs(a.p50_ms);
  $('p99').textContent = fmtMs(a.p99_ms);
  const dl = s.db && s.db.dead_letters ? s.db.dead_letters.total : null;
  $('dl-total').textContent = fmtInt(dl);
  $('dl-total').className = 'big' + (dl ? ' bad' : '');
}

function drawTables(s) {
  const db = s.db;
  if (!db) { $('db-name').textContent = 'no database (--db "")'; fill('tables', []); return; }
  $('db-name').textContent = db.kind + ': ' + db.db + (db.error ? ' — ' + db.error : '');
  fill('tables', (db.tables || []).map((t) => row([
    { text: t.name },
    { text: t.error ? t.error : fmtInt(t.rows), cls: 'num', id: 'rows-' + t.name },
  ])));
}

function drawHistogram(s) {
  const a = s.acks || {};
  const box = $('histogram');
  const buckets = a.buckets || [];
  let last = buckets.length - 1;
  while (last > 0 && !buckets[last].count) last--;
  let first = 0;
  while (first < last && !buckets[first].count) first++;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const rows = [];
  let lo = first > 0 ? buckets[first - 1].le_ms : 0;
  for (let i = first; i <= last && a.delays; i++) {
    const b = buckets[i];
    const label = b.le_ms === null ? '> ' + fmtBound(lo) + ' ms' : fmtBound(lo) + '–' + fmtBound(b.le_ms) + ' ms';
    const r = el('div', null, 'hrow');
    r.appendChild(el('div', label));
    const barBox = el('div');
    const bar = el('div', null, 'hbar');
    bar.style.width = (100 * b.count / max).toFixed(1) + '%';
    barBox.appendChild(bar);
    r.appendChild(barBox);
    r.appendChild(el('div', fmtInt(b.count), 'num'));
    rows.push(r);
    lo = b.le_ms;
  }
  box.replaceChildren(...rows);
  $('hist-note').textContent = a.delays
    ? fmtInt(a.delays) + ' delays (ack time − latest of its three topic messages), max ' + fmtMs(a.max_ms) +
      ' ms' + (a.exact ? '' : '; percentiles estimated from a uniform sample')
    : 'no ack read yet';
}

function drawTopics(s) {
  const rows = [];
  const t = s.topics || {};
  for (const topic of t.topics || []) {
    let total = 0;
    const per = topic.partitions.map((p) => {
      if (p.error) return 'p' + p.partition + ': ' + p.error;
      total += p.high - p.low;
      return 'p' + p.partition + ': ' + fmtInt(p.low) + '–' + fmtInt(p.high);
    });
    rows.push(row([
      { text: topic.name }, { text: topic.partitions.length + (topic.truncated ? '+' : ''), cls: 'num' },
      { text: fmtInt(total), cls: 'num', id: 'messages-' + topic.name },
      { text: per.join('   '), cls: 'mono' },
    ]));
  }
  if (t.error) rows.push(row([{ text: 'cluster: ' + t.error, cls: 'bad' }]));
  if (t.truncated) rows.push(row([{ text: 'more topics than --max-topics: not all shown', cls: 'muted' }]));
  fill('topics', rows);
  const sel = $('topic-select');
  const names = (t.topics || []).map((x) => x.name);
  if (names.join(',') !== Array.from(sel.options).map((o) => o.value).join(',')) {
    sel.replaceChildren(...names.map((n) => { const o = el('option', n); o.value = n; return o; }));
    if (chosenTopic && names.includes(chosenTopic)) sel.value = chosenTopic;
    else if (names.includes('topic1')) sel.value = 'topic1';
    chosenTopic = sel.value || null;
  }
}

function drawGroups(s) {
  const rows = [];
  for (const g of s.groups || []) {
    const name = g.group + (g.state ? ' (' + g.state + ')' : '');
    if (g.error) rows.push(row([{ text: name }, { text: g.error, cls: 'bad' }]));
    if (!g.partitions.length && !g.error) rows.push(row([{ text: name }, { text: 'no offsets yet', cls: 'muted' }]));
    const byTopic = new Map();
    for (const p of g.partitions) {
      if (!byTopic.has(p.topic)) byTopic.set(p.topic, []);
      byTopic.get(p.topic).push(p);
    }
    for (const [topic, parts] of byTopic) {
      const lag = parts.reduce((a, p) => (a === null || p.lag === null ? null : a + p.lag), 0);
      rows.push(row([
        { text: name }, { text: topic },
        { text: fmtInt(lag), cls: 'num' + (lag ? ' bad' : '') },
        { text: parts.map((p) => 'p' + p.partition + ': ' + fmtInt(p.committed) + '/' + fmtInt(p.high) +
          ' (' + fmtInt(p.lag) + ')').join('   '), cls: 'mono' },
      ]));
    }
  }
  fill('groups', rows);
}

// A one-cell row across the whole table: "none", or why there is nothing.
function noteRow(tableId, text) {
  const r = row([{ text, cls: 'muted' }]);
  r.cells[0].colSpan = $(tableId).tHead.rows[0].cells.length;
  return r;
}

function drawDeadLetters(s) {
  const dl = (s.db && s.db.dead_letters) || {};
  const reasons = dl.by_reason || [];
  $('reasons').hidden = !reasons.length;
  fill('reasons', reasons.map((r) => row([{ text: r.reason }, { text: fmtInt(r.count), cls: 'num' }])));
  const latest = dl.latest || [];
  fill('deadletters', latest.length ? latest.map((d) => row([
    { text: d.received_at }, { text: d.topic }, { text: d.partition, cls: 'num' },
    { text: d.offset, cls: 'num' }, { text: d.reason },
  ])) : [noteRow('deadletters', s.db ? 'none' : 'no database')]);
}

function drawMessages(m) {
  if (!m || m.pending) {
    // The console reads a topic once it is asked for: ask again soon.
    $('messages-note').textContent = 'reading…';
    setTimeout(loadMessages, 500);
    return;
  }
  if (m.topic !== chosenTopic) return; // an answer for the topic chosen before
  const list = m.messages || [];
  $('messages-note').textContent = list.length + ' newest of ' + m.topic + ' (read_committed)' +
    (m.complete ? '' : ', some partitions did not answer in time') + (m.error ? ' — ' + m.error : '');
  fill('messages', list.map((x) => row([
    { text: fmtTime(x.timestamp_ms) }, { text: x.partition, cls: 'num' }, { text: x.offset, cls: 'num' },
    { text: x.key === null ? '(null)' : x.key, cls: 'mono' },
    { text: x.value === null ? '(null)' : x.value, cls: 'mono' },
    { text: (x.headers || []).map((h) => h.name + '=' + h.value).join('\n'), cls: 'mono' },
  ])));
}

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}

async function tick() {
  try {
    const s = await getJson('api/state');
    refreshMs = Math.max(500, (s.refresh_s || 2) * 1000);
    drawTopics(s);
    drawSummary(s);
    drawTables(s);
    drawHistogram(s);
    drawGroups(s);
    drawDeadLetters(s);
    $('status').textContent = 'Kafka ' + s.bootstrap + (s.cluster_id ? ' (cluster ' + s.cluster_id + ')' : '') +
      ' · updated ' + fmtTime(s.generated_ms) + ' UTC';
    $('status').className = 'muted';
    if (chosenTopic) drawMessages(await getJson('api/messages?topic=' + encodeURIComponent(chosenTopic)));
  } catch (e) {
    $('status').textContent = 'no answer from the console: ' + e.message;
    $('status').className = 'bad';
  }
  setTimeout(tick, refreshMs);
}

function loadMessages() {
  if (!chosenTopic) return;
  getJson('api/messages?topic=' + encodeURIComponent(chosenTopic)).then(drawMessages).catch(() => {});
}

$('topic-select').addEventListener('change', (e) => {
  chosenTopic = e.target.value;
  $('messages-note').textContent = 'reading…';
  fill('messages', []);
  loadMessages();
});
tick();
