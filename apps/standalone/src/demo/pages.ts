/**
 * The demo pages: plain HTML with inline scripts on the SDK bundle (/demo/herald.js, the global
 * `HeraldSDK`), no framework and no CDN, so they work offline a minute after `npm start`.
 * Query parameters, for trying things out and for the browser tests: `name=` (display name),
 * `transports=sse,poll` (transport order), `channel=` (chat room, default chat:lobby), `rate=`
 * (the dashboard's own publish rate per second, default 8; 0 to watch other traffic only).
 */

const STYLE = `
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: center; }
  header a { color: #9cc3ff; }
  main { padding: 20px; max-width: 1000px; margin: auto; }
  .status { font-size: 13px; padding: 2px 8px; border-radius: 10px; background: #ccc; }
  .status.connected { background: #2e9e5b; color: #fff; }
  .status.connecting { background: #e0a000; color: #fff; }
  .card { background: #fff; border-radius: 8px; padding: 14px; box-shadow: 0 1px 3px #0002; }
`;

function shell(title: string, body: string, script: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Herald demo</title>
<style>${STYLE}</style>
</head>
<body>
<header><strong>Herald</strong><a href="/">demos</a><a href="/demo/chat">chat</a><a href="/demo/dashboard">dashboard</a>
<span id="status" class="status">offline</span><span id="transport"></span></header>
<main>${body}</main>
<script src="/demo/herald.js"></script>
<script>
'use strict';
/** Shared by both pages: a client for the demo app, tokens from the node's development endpoint. */
async function demoClient(name) {
  const params = new URLSearchParams(location.search);
  const issue = async (body) => {
    const res = await fetch('/demo/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error('token endpoint answered ' + res.status);
    return res.json();
  };
  const first = await issue({ name });
  const transports = params.get('transports');
  const client = new HeraldSDK.Herald({
    url: location.origin,
    key: first.key,
    token: first.token,
    getToken: async () => (await issue({ name: first.name, user: first.user })).token,
    ...(transports ? { transports: transports.split(',') } : {}),
  });
  const status = document.getElementById('status');
  const transport = document.getElementById('transport');
  client.on('state', ({ state }) => {
    status.textContent = state;
    status.className = 'status ' + state;
    document.body.dataset.state = state;
  });
  client.on('connected', (e) => {
    transport.textContent = 'via ' + e.transport;
    document.body.dataset.transport = e.transport;
  });
  client.on('disconnected', (e) => { transport.textContent = 'closed ' + e.code + ': ' + e.reason; });
  client.connect();
  return { client, me: first };
}
${script}
</script>
</body>
</html>
`;
}

export const INDEX_PAGE = shell(
  'Demos',
  `<h1>Herald is running</h1>
<div class="card">
<p>These pages use the client SDK (<code>/demo/herald.js</code>) against this node's development app.
Open each in two windows.</p>
<ul>
<li><a href="/demo/chat">Chat room</a>: messages, presence and typing indicators on <code>chat:lobby</code>.</li>
<li><a href="/demo/dashboard">Live dashboard</a>: publish and delivery rates, plotted live.</li>
</ul>
<p>The demo is served only when the node runs in development (<code>HERALD_ENV=development</code>, the
default); see docs/sdk.md. REST API reference: <a href="/docs">/docs</a>.</p>
</div>`,
  '',
);

export const CHAT_PAGE = shell(
  'Chat',
  `<style>
  #chat { display: grid; grid-template-columns: 1fr 220px; gap: 16px; }
  #messages { list-style: none; padding: 0; margin: 0 0 10px; height: 360px; overflow-y: auto; }
  #messages li { padding: 3px 0; }
  #messages .who { font-weight: 600; margin-right: 6px; }
  #messages .note { color: #888; font-style: italic; }
  #typing { height: 20px; color: #888; font-size: 13px; }
  #members { list-style: none; padding: 0; }
  #members li::before { content: '● '; color: #2e9e5b; }
  form { display: flex; gap: 8px; }
  #text { flex: 1; padding: 6px; }
</style>
<div id="chat">
  <div class="card">
    <h2 id="room"></h2>
    <ul id="messages"></ul>
    <div id="typing"></div>
    <form id="form"><input id="text" autocomplete="off" placeholder="Say something"><button>Send</button></form>
  </div>
  <div class="card"><h3>Here now (<span id="count">0</span>)</h3><ul id="members"></ul></div>
</div>`,
  `
(async () => {
  const params = new URLSearchParams(location.search);
  const channel = params.get('channel') || 'chat:lobby';
  document.getElementById('room').textContent = channel;
  const { client, me } = await demoClient(params.get('name') || '');
  const messages = document.getElementById('messages');
  const line = (who, text, cls) => {
    const li = document.createElement('li');
    if (who) { const b = document.createElement('span'); b.className = 'who'; b.textContent = who; li.append(b); }
    const t = document.createElement('span'); t.textContent = text; if (cls) t.className = cls; li.append(t);
    messages.append(li);
    messages.scrollTop = messages.scrollHeight;
  };

  // Presence: one entry per connection (client id), shown by display name.
  const members = new Map();
  const renderMembers = () => {
    const ul = document.getElementById('members');
    ul.replaceChildren(...[...new Set([...members.values()])].sort().map((n) => {
      const li = document.createElement('li'); li.textContent = n; return li;
    }));
    document.getElementById('count').textContent = String(ul.children.length);
  };
  const nameOf = (info) => (info && info.info && info.info.name) || info.user;

  // Typing: who is typing, until when.
  const typing = new Map();
  const renderTyping = () => {
    const now = Date.now();
    for (const [n, until] of typing) if (until < now) typing.delete(n);
    const names = [...typing.keys()];
    document.getElementById('typing').textContent =
      names.length ? names.join(', ') + (names.length > 1 ? ' are' : ' is') + ' typing…' : '';
  };
  setInterval(renderTyping, 500);

  const sub = client.newSubscription(channel);
  sub.on('publication', (p) => {
    const d = p.data || {};
    if (d.type === 'typing') {
      if (d.name !== me.name) { typing.set(d.name, Date.now() + 3000); renderTyping(); }
    } else if (d.type === 'message') {
      typing.delete(d.name); renderTyping();
      line(d.name, d.text);
    }
  });
  sub.on('join', ({ info }) => { members.set(info.client, nameOf(info)); renderMembers(); });
  sub.on('leave', ({ info }) => { members.delete(info.client); renderMembers(); });
  sub.on('subscribed', async (e) => {
    if (e.wasRecovering && !e.recovered) line('', 'Reconnected; some messages may have been missed.', 'note');
    const { members: list } = await sub.presence();
    members.clear();
    for (const m of list) members.set(m.client, nameOf(m));
    renderMembers();
  });
  sub.subscribe();
  // The room's recent messages, once.
  sub.ready().then(async () => {
    const { publications } = await sub.history({ limit: 20 });
    for (const p of publications) if (p.data && p.data.type === 'message') line(p.data.name, p.data.text);
  });

  let lastTyping = 0;
  const input = document.getElementById('text');
  input.addEventListener('input', () => {
    if (Date.now() - lastTyping < 2000 || !input.value) return;
    lastTyping = Date.now();
    sub.publish({ type: 'typing', name: me.name }).catch(() => undefined);
  });
  document.getElementById('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    lastTyping = 0;
    sub.publish({ type: 'message', name: me.name, text }).catch((err) => line('', 'Not sent: ' + err.message, 'note'));
  });
  document.body.dataset.ready = 'true';
})().catch((err) => { document.body.dataset.error = String(err); console.error(err); });
`,
);

export const DASHBOARD_PAGE = shell(
  'Dashboard',
  `<style>
  canvas { width: 100%; height: 320px; background: #fff; border-radius: 8px; }
  .stats { display: flex; gap: 16px; margin: 12px 0; }
  .stat { flex: 1; }
  .stat b { font-size: 26px; display: block; }
  .pub { color: #3068d9; } .del { color: #e0562b; }
</style>
<div class="stats">
  <div class="card stat"><span class="pub">publishes/s (node)</span><b id="pubRate">0</b></div>
  <div class="card stat"><span class="del">deliveries/s (node)</span><b id="delRate">0</b></div>
  <div class="card stat"><span class="pub">published</span><b id="pubTotal">0</b></div>
  <div class="card stat"><span class="del">delivered</span><b id="delTotal">0</b></div>
  <div class="card stat">connections <b id="connections">0</b></div>
</div>
<div class="card">
  <label>This page publishes <input id="rate" type="range" min="0" max="18" value="8"> <span id="rateLabel">8</span>/s
  to <code>chat:dashboard</code> and receives it (<b id="total">0</b> so far, <b id="watchers">0</b> watching).
  The plot shows the whole node's rates for the demo app: publish from anywhere (REST, the chat) and watch.</label>
  <canvas id="chart" width="960" height="320"></canvas>
  <small>Published and delivered count since this page opened; a delivery is one publication reaching one
  subscriber. Numbers from <code>/demo/stats</code> (the node's usage meter, as on <code>/metrics</code>).</small>
</div>`,
  `
(async () => {
  const params = new URLSearchParams(location.search);
  const { client } = await demoClient('dashboard');
  const sub = client.subscribe('chat:dashboard');
  const WINDOW = 60;
  const series = { pub: new Array(WINDOW).fill(0), del: new Array(WINDOW).fill(0) };
  let total = 0;
  sub.on('publication', () => { total++; });

  const rate = document.getElementById('rate');
  const rateLabel = document.getElementById('rateLabel');
  if (params.get('rate') !== null) rate.value = params.get('rate');
  let timer;
  const schedule = () => {
    clearInterval(timer);
    rateLabel.textContent = rate.value;
    const perSec = Number(rate.value);
    if (perSec > 0) timer = setInterval(() => {
      if (client.state !== 'connected') return;
      sub.publish({ t: Date.now() }).catch(() => undefined);
    }, 1000 / perSec);
  };
  rate.addEventListener('input', schedule);
  schedule();

  const canvas = document.getElementById('chart');
  const ctx = canvas.getContext('2d');
  const draw = () => {
    const w = canvas.width, h = canvas.height, pad = 30;
    const max = Math.max(10, ...series.pub, ...series.del) * 1.2;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = '#e3e6eb'; ctx.fillStyle = '#889'; ctx.font = '12px system-ui'; ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad + ((h - 2 * pad) * i) / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 10, y); ctx.stroke();
      ctx.fillText(String(Math.round(max * (1 - i / 4))), 2, y + 4);
    }
    const plot = (values, color) => {
      ctx.strokeStyle = color; ctx.lineWidth = 2.5; ctx.beginPath();
      values.forEach((v, i) => {
        const x = pad + ((w - pad - 10) * i) / (WINDOW - 1);
        const y = h - pad - ((h - 2 * pad) * v) / max;
        i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.stroke();
    };
    plot(series.pub, '#3068d9');
    plot(series.del, '#e0562b');
    ctx.fillStyle = '#889'; ctx.fillText('last ' + WINDOW + ' s, per second', w - 130, h - 8);
  };

  // The node's counters (totals since it started); rates are differences between two readings.
  const readStats = async () => {
    const res = await fetch('/demo/stats', { cache: 'no-store' });
    if (!res.ok) throw new Error('stats endpoint answered ' + res.status);
    return res.json();
  };
  const base = await readStats();
  let prev = base;
  let peakPub = 0, peakDel = 0;
  const set = (id, v) => { document.getElementById(id).textContent = String(v); };
  const tick = async () => {
    let now;
    try { now = await readStats(); } catch (e) { return; }
    const dt = Math.max(0.001, (now.at - prev.at) / 1000);
    const pubRate = Math.round(((now.published - prev.published) / dt) * 10) / 10;
    const delRate = Math.round(((now.delivered - prev.delivered) / dt) * 10) / 10;
    prev = now;
    peakPub = Math.max(peakPub, pubRate); peakDel = Math.max(peakDel, delRate);
    series.pub.push(pubRate); series.pub.shift();
    series.del.push(delRate); series.del.shift();
    set('pubRate', pubRate); set('delRate', delRate);
    set('pubTotal', now.published - base.published); set('delTotal', now.delivered - base.delivered);
    set('connections', now.connections); set('total', total);
    Object.assign(document.body.dataset, {
      peakPub: String(peakPub), peakDel: String(peakDel),
      ticks: String(Number(document.body.dataset.ticks || 0) + 1),
    });
    draw();
    if (client.state === 'connected') {
      try { set('watchers', (await sub.presenceStats()).num_clients); } catch (e) {}
    }
  };
  setInterval(tick, 1000);
  draw();
  await sub.ready();
  document.body.dataset.ready = 'true';
})().catch((err) => { document.body.dataset.error = String(err); console.error(err); });
`,
);
