// Live page: subscribes to /stream-predictions (SSE) and polls /metrics and /optimizer (JSON).
// Works offline: Chart.js is served from wwwroot/lib.
'use strict';

const POINTS = 60;           // readings kept per sensor
const COLORS = ['#4fc3f7', '#ffb74d', '#ba68c8', '#aed581', '#f06292', '#90a4ae'];
const tools = new Map();     // tool id -> { element, readings, scores, sensors: Map }
const counts = { events: 0, anomalies: 0, dropped: 0 };
let dirty = new Set();

// scales: further axes, or ones that replace the x and y above (a time axis, a second y axis).
function chartFor(canvas, yOptions, scales = {}) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      scales: {
        x: { type: 'linear', ticks: { display: false }, grid: { color: '#26313c' } },
        y: { ...yOptions, ticks: { color: '#8b98a5' }, grid: { color: '#26313c' } },
        ...scales,
      },
      plugins: { legend: { labels: { color: '#d8dee6', boxWidth: 10 } } },
    },
  });
}

// One panel per seed tool, and one per chamber of a tool that sends readings with context.
function toolFor(id, chamber, caption) {
  const key = chamber ? `${id}/${chamber}` : id;
  let tool = tools.get(key);
  if (tool) return tool;
  const node = document.getElementById('tool-template').content.firstElementChild.cloneNode(true);
  node.dataset.tool = id;
  node.dataset.chamber = chamber ?? '';
  node.dataset.key = key;
  node.querySelector('.tool-name').textContent = chamber ? `${id} · chamber ${chamber}` : id;
  node.querySelector('.readings').previousElementSibling.textContent = caption;
  // Keep panels in name order.
  const after = [...document.getElementById('tools').children].find(el => el.dataset.key > key);
  document.getElementById('tools').insertBefore(node, after ?? null);
  tool = {
    element: node,
    readings: chartFor(node.querySelector('.readings'), {}),
    scores: chartFor(node.querySelector('.scores'), { min: 0, max: 1 }),
    sensors: new Map(),
    updates: 0,
  };
  tools.set(key, tool);
  offer('filter-tool', id);
  if (chamber) offer('filter-chamber', chamber);
  applyFilter(node);
  return tool;
}

// Filters by tool and chamber: panels, alerts and anomalies of other places are hidden.
const filter = { tool: '', chamber: '' };

function offer(selectId, value) {
  const select = document.getElementById(selectId);
  if ([...select.options].some(o => o.value === value)) return;
  const option = new Option(value, value);
  const after = [...select.options].slice(1).find(o => o.value > value);
  select.insertBefore(option, after ?? null);
}

function applyFilter(element) {
  element.hidden = (filter.tool !== '' && element.dataset.tool !== filter.tool)
    || (filter.chamber !== '' && element.dataset.chamber !== filter.chamber);
}

function applyFilters() {
  filter.tool = document.getElementById('filter-tool').value;
  filter.chamber = document.getElementById('filter-chamber').value;
  document.querySelectorAll('#tools > article, #alert-list > li, #anomaly-list > li').forEach(applyFilter);
  renderAlerts();
}

function sensorFor(tool, id) {
  let sensor = tool.sensors.get(id);
  if (sensor) return sensor;
  const color = COLORS[tool.sensors.size % COLORS.length];
  sensor = {
    temperature: { label: id, data: [], borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 1.5 },
    score: {
      label: id, data: [], borderColor: color, backgroundColor: color, borderWidth: 1.5,
      // Anomalies stand out as large red points.
      pointRadius: ctx => (ctx.raw && ctx.raw.anomaly ? 5 : 0),
      pointBackgroundColor: ctx => (ctx.raw && ctx.raw.anomaly ? '#ff5c5c' : color),
    },
    x: 0,
  };
  tool.readings.data.datasets.push(sensor.temperature);
  tool.scores.data.datasets.push(sensor.score);
  tool.sensors.set(id, sensor);
  return sensor;
}

function push(series, point) {
  series.push(point);
  if (series.length > POINTS) series.shift();
}

function onPrediction(event) {
  const p = JSON.parse(event.data);
  const r = p.reading;
  const context = p.context;
  // A reading with context plots its first sensor; the seed's reading its temperature.
  const [caption, value] = context ? Object.entries(p.values)[0] : ['temperature °C', r.temperature];
  const tool = context ? toolFor(context.tool_id, context.chamber_id, caption) : toolFor(r.tool_id ?? `(${p.source})`, null, caption);
  const sensor = sensorFor(tool, context ? p.model : (r.sensor_id ?? 'reading'));
  const x = sensor.x++;
  push(sensor.temperature.data, { x, y: value });
  push(sensor.score.data, { x, y: p.prediction, anomaly: p.is_anomaly });
  counts.events++;
  if (p.is_anomaly) {
    counts.anomalies++;
    tool.element.classList.add('alerting');
    tool.alertUntil = Date.now() + 5000;
    const item = document.createElement('li');
    item.dataset.tool = tool.element.dataset.tool;
    item.dataset.chamber = tool.element.dataset.chamber;
    item.textContent = context
      ? `${r.timestamp}  ${context.tool_id} ${context.chamber_id ?? ''} ${context.step ?? ''} ${context.lot_id ?? ''} ${context.wafer_id ?? ''}  p=${p.prediction.toFixed(3)}  ${p.model}`
      : `${r.timestamp}  ${r.tool_id ?? p.source} ${r.sensor_id ?? ''}  p=${p.prediction.toFixed(3)}  `
        + `T=${r.temperature.toFixed(1)} P=${r.pressure.toFixed(1)} F=${r.flow_rate.toFixed(1)}`;
    applyFilter(item);
    const list = document.getElementById('anomaly-list');
    list.prepend(item);
    while (list.children.length > 50) list.lastChild.remove();
  }
  dirty.add(tool);
}

// Charts redraw at most once a frame, however fast events come.
function render() {
  for (const tool of dirty) {
    tool.readings.update('none');
    tool.scores.update('none');
    tool.updates++;
    tool.element.dataset.updates = tool.updates;
    if (tool.alertUntil && Date.now() > tool.alertUntil) tool.element.classList.remove('alerting');
  }
  dirty = new Set();
  document.getElementById('events').textContent = counts.events;
  document.getElementById('anomalies').textContent = counts.anomalies;
  document.getElementById('dropped').textContent = counts.dropped;
  requestAnimationFrame(render);
}

function connect() {
  const badge = document.getElementById('connection');
  // EventSource reconnects by itself and sends Last-Event-ID, so the server replays what was missed.
  const source = new EventSource('stream-predictions');
  source.onopen = () => { badge.dataset.state = 'open'; badge.textContent = 'live'; };
  source.onerror = () => { badge.dataset.state = 'error'; badge.textContent = 'reconnecting…'; };
  source.onmessage = onPrediction;
  source.addEventListener('dropped', e => { counts.dropped += JSON.parse(e.data).dropped; });
}

// Open alerts, kept current by /stream-alerts; each firing one can be acknowledged from here.
const openAlerts = new Map();

// One list item per open alert, kept and updated in place: a button under the pointer is never
// replaced by a copy while the stream brings other alerts' changes.
const alertItems = new Map();

function renderAlerts() {
  const list = document.getElementById('alert-list');
  for (const [id, item] of alertItems) {
    if (!openAlerts.has(id)) {
      item.remove();
      alertItems.delete(id);
    }
  }

  let previous = null;
  for (const alert of [...openAlerts.values()].sort((a, b) => b.id - a.id)) {
    let item = alertItems.get(alert.id);
    if (!item) {
      item = document.createElement('li');
      item.dataset.alertId = alert.id;
      const what = document.createElement('span');
      what.className = 'what';
      const when = document.createElement('span');
      when.className = 'when';
      item.append(what, when);
      alertItems.set(alert.id, item);
    }

    item.dataset.state = alert.state;
    item.dataset.severity = alert.severity;
    item.dataset.tool = alert.tool_id ?? '';
    item.dataset.chamber = alert.chamber_id ?? '';
    applyFilter(item);
    const where = alert.chamber_id ? `${alert.tool_id} chamber ${alert.chamber_id}` : (alert.tool_id ?? '?');
    item.querySelector('.what').textContent =
      `#${alert.id} ${alert.severity} ${alert.kind} · ${where} / ${alert.sensor_id ?? alert.sensors.join(', ')}`
      + ` · ${alert.rules.join(', ')} · max ${alert.max_score.toFixed(3)} · ${alert.state}`;
    item.querySelector('.when').textContent = `since ${new Date(alert.started_at).toLocaleTimeString()}`;
    const ack = item.querySelector('button.ack');
    if (alert.state === 'firing' && !ack) {
      const button = document.createElement('button');
      button.className = 'ack';
      button.textContent = 'Ack';
      button.onclick = () => acknowledge(alert.id, button);
      item.append(button);
    } else if (alert.state !== 'firing' && ack) {
      ack.remove();
    }

    const next = previous ? previous.nextSibling : list.firstChild;
    if (next !== item) list.insertBefore(item, next);
    previous = item;
  }

  document.getElementById('alert-count').textContent = [...alertItems.values()].filter(item => !item.hidden).length;
}

async function acknowledge(id, button) {
  button.disabled = true;
  const response = await fetch(`alerts/${id}/ack`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ by: 'dashboard' }),
  });
  // The stream brings the acknowledged alert; a refusal (resolved meanwhile) re-enables nothing.
  if (!response.ok) button.textContent = `${response.status}`;
}

// Alerts the stream has told of (including resolved ones): the list fetched at start never overrides them.
const streamed = new Set();

function onAlert(event) {
  const change = JSON.parse(event.data);
  const alert = change.alert;
  streamed.add(alert.id);
  if (alert.state === 'resolved') openAlerts.delete(alert.id); else openAlerts.set(alert.id, alert);
  renderAlerts();
  const line = document.createElement('li');
  line.textContent = `${new Date().toLocaleTimeString()} #${alert.id} ${alert.tool_id ?? '?'} / ${alert.sensor_id ?? 'tool'}: ${change.event}`;
  const timeline = document.getElementById('alert-timeline');
  timeline.prepend(line);
  while (timeline.children.length > 50) timeline.lastChild.remove();
}

function loadAlerts() {
  // Subscribe first, then fetch what is open already: an alert that fires in between comes by the
  // stream, and the stream's word wins over the list's. A reconnect resumes by Last-Event-ID.
  const source = new EventSource('stream-alerts');
  source.addEventListener('alert', onAlert);
  source.addEventListener('open', async () => {
    const list = document.getElementById('alert-list');
    if (list.dataset.loaded) return;
    try {
      const response = await fetch('alerts');
      if (response.ok) {
        for (const alert of (await response.json()).items) {
          if (alert.state !== 'resolved' && !streamed.has(alert.id)) openAlerts.set(alert.id, alert);
        }
        renderAlerts();
        list.dataset.loaded = 'true';
      }
    } catch {
      // Tried again when the stream reopens; meanwhile it brings every change.
    }
  });
}

async function pollMetrics() {
  try {
    const response = await fetch('metrics', { headers: { Accept: 'application/json' } });
    if (response.ok) {
      const m = await response.json();
      document.getElementById('p50').textContent = `${m.latency.p50_ms.toFixed(2)} ms`;
      document.getElementById('p99').textContent = `${m.latency.p99_ms.toFixed(2)} ms`;
      document.getElementById('throughput').textContent = `${m.throughput_rps.toFixed(1)} /s`;
      document.getElementById('errors').textContent = `${(m.error_rate * 100).toFixed(2)} %`;
    }
  } catch {
    // The badge already shows the stream's state; figures stay as they were.
  }
}

// The process optimizer: one panel per simulated tool, polled (its lots and decisions change a few
// times a second at most, not with every prediction).
const optimizerTools = new Map(); // tool id -> { element, yield, setpoints, updates }
const TIME_AXIS = {
  type: 'linear',
  bounds: 'data',
  ticks: { color: '#8b98a5', maxTicksLimit: 3, maxRotation: 0, callback: ms => new Date(ms).toLocaleTimeString() },
  grid: { color: '#26313c' },
};
const UNITS = { temperature: '°C', pressure: 'mbar', flow: 'sccm' };

function axis(color, position) {
  return { position, ticks: { color }, grid: { color: '#26313c', drawOnChartArea: position === 'left' } };
}

function line(label, color, extra = {}) {
  return { label, data: [], borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 1.5, ...extra };
}

function optimizerToolFor(id) {
  let tool = optimizerTools.get(id);
  if (tool) return tool;
  const node = document.getElementById('optimizer-template').content.firstElementChild.cloneNode(true);
  node.dataset.tool = id;
  node.querySelector('.tool-name').textContent = id;
  document.getElementById('optimizer-tools').append(node);
  const button = node.querySelector('button.apply');
  button.onclick = () => applyRecommendation(id, button);
  tool = {
    element: node,
    yield: chartFor(node.querySelector('.yield'), {}, { x: TIME_AXIS }),
    // Each setpoint on its own axis, coloured as its line: their ranges differ by an order of magnitude.
    setpoints: chartFor(node.querySelector('.setpoints'), {}, {
      x: TIME_AXIS, y: axis(COLORS[0], 'left'), y1: axis(COLORS[1], 'right'), y2: axis(COLORS[2], 'right'),
    }),
    updates: 0,
  };
  tool.yield.data.datasets.push(
    line('measured', COLORS[0]),
    line('predicted', COLORS[1]),
    line('applied', '#46c37b', { showLine: false, pointStyle: 'triangle', pointRadius: 6 }));
  tool.setpoints.data.datasets.push(...['temperature', 'pressure', 'flow'].map(
    (name, i) => line(`${name} ${UNITS[name]}`, COLORS[i], { stepped: true, yAxisID: ['y', 'y1', 'y2'][i] })));
  optimizerTools.set(id, tool);
  return tool;
}

const number = v => Number(v.toFixed(2));
const percent = v => (v == null ? '–' : `${(v * 100).toFixed(1)} %`);
const time = text => new Date(text).toLocaleTimeString();

function setpointsText(s) {
  return `T ${number(s.temperature)} °C · P ${number(s.pressure)} mbar · F ${number(s.flow)} sccm`;
}

function renderOptimizerTool(t, history) {
  const tool = optimizerToolFor(t.tool_id);
  const node = tool.element;
  node.querySelector('.state').textContent =
    `${setpointsText(t.setpoints)} · chamber age ${number(t.chamber_age)} wafers · yield measured ${percent(t.measured_yield)}, predicted ${percent(t.predicted_yield)}`;
  const last = t.last_decision;
  node.querySelector('.decision').textContent = last ? `last decision ${time(last.decided_at)}: ${last.action} (${last.reason})` : 'no decision yet';

  const box = node.querySelector('.recommendation');
  const button = box.querySelector('button.apply');
  const rec = t.recommendation;
  box.hidden = !rec;
  if (rec) {
    box.querySelector('.what').textContent =
      `recommended ${time(rec.decided_at)}: ${setpointsText(rec.after)}, predicted ${percent(rec.predicted_best)} (+${(rec.predicted_gain * 100).toFixed(2)} pts)`;
    // A new recommendation gets a fresh button; the one being applied stays disabled.
    if (button.dataset.decision !== rec.id) {
      button.dataset.decision = rec.id;
      button.disabled = false;
      button.textContent = 'Apply';
    }
  }

  const [measured, predicted, applied] = tool.yield.data.datasets;
  measured.data = history.lots.map(l => ({ x: Date.parse(l.measured_at), y: l.yield * 100 }));
  const scored = history.decisions.filter(d => d.predicted_current != null);
  predicted.data = scored.map(d => ({ x: Date.parse(d.decided_at), y: d.predicted_current * 100 }));
  applied.data = scored.filter(d => d.action === 'applied').map(d => ({ x: Date.parse(d.decided_at), y: d.predicted_current * 100 }));
  tool.setpoints.data.datasets.forEach((series, i) => {
    const name = ['temperature', 'pressure', 'flow'][i];
    series.data = history.lots.map(l => ({ x: Date.parse(l.measured_at), y: l.setpoints[name] }));
  });
  tool.yield.update('none');
  tool.setpoints.update('none');
  tool.updates++;
  node.dataset.updates = tool.updates;
}

async function pollOptimizer() {
  try {
    const response = await fetch('optimizer');
    if (!response.ok) return;
    const o = await response.json();
    document.getElementById('optimizer-mode').textContent = o.mode;
    const choice = document.getElementById('optimizer-mode-choice');
    if (document.activeElement !== choice) choice.value = o.mode;
    document.getElementById('optimizer-cycle').textContent =
      `${o.last_cycle_ms == null ? '–' : `${o.last_cycle_ms.toFixed(2)} ms`} · every ${o.interval_seconds} s · min gain ${(o.min_gain * 100).toFixed(2)} pts`;
    const histories = await Promise.all(o.tools.map(async t => {
      const h = await fetch(`optimizer/tools/${encodeURIComponent(t.tool_id)}/history`);
      return h.ok ? h.json() : { lots: [], decisions: [] };
    }));
    o.tools.forEach((t, i) => renderOptimizerTool(t, histories[i]));
  } catch {
    // Figures stay as they were until the next poll.
  }
}

async function setOptimizerMode(mode) {
  await fetch('optimizer/mode', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode }) });
  await pollOptimizer();
}

async function applyRecommendation(id, button) {
  button.disabled = true;
  // The recommendation shown, not whatever waits by now: what the engineer approved is what runs.
  const decision = encodeURIComponent(button.dataset.decision);
  const response = await fetch(`optimizer/tools/${encodeURIComponent(id)}/apply?decision_id=${decision}`, { method: 'POST' });
  // 409: the recommendation was replaced or withdrawn by a later cycle meanwhile; the poll shows what waits now.
  if (!response.ok) button.textContent = `${response.status}`;
  await pollOptimizer();
}

document.getElementById('filter-tool').onchange = applyFilters;
document.getElementById('filter-chamber').onchange = applyFilters;
connect();
loadAlerts();
pollMetrics();
setInterval(pollMetrics, 2000);
document.getElementById('optimizer-mode-choice').onchange = e => setOptimizerMode(e.target.value);
pollOptimizer();
setInterval(pollOptimizer, 2000);
requestAnimationFrame(render);
