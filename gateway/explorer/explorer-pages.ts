// The two HTML pages of the explorer: the ledger explorer itself and the GraphQL IDE. They are static
// shells; the bundled scripts fill them from the gateway's API. The partner name is the only value put
// into the HTML, and it is escaped.

const escapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => escapes[character] ?? character);
}

function navigation(partner: string, current: 'explorer' | 'ide'): string {
  const link = (href: string, label: string, page: 'explorer' | 'ide'): string =>
    `<a href="${href}"${page === current ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true">◆</span> Entente <span class="partner">${escapeHtml(partner)}</span></div>
  <nav>${link('/explorer', 'Ledger explorer', 'explorer')}${link('/explorer/graphql', 'GraphQL IDE', 'ide')}</nav>
</header>`;
}

export function explorerPageHtml(partner: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ledger explorer · ${escapeHtml(partner)} · Entente</title>
<link rel="stylesheet" href="/explorer/assets/explorer.css">
<script type="module" src="/explorer/assets/explorer.js"></script>
</head>
<body>
${navigation(partner, 'explorer')}
<main>
  <section aria-labelledby="status-title">
    <h1 id="status-title">Network and node status</h1>
    <p class="lead">This page is served by your own gateway. It shows what your company's node knows about the shared ledger, live.</p>
    <div class="cards" id="gateway-status"><div class="card neutral"><div class="card-label">Gateway</div><div class="card-value">Checking…</div></div></div>
    <div class="cards" id="ledger-status"></div>
    <details class="checks"><summary>Readiness checks</summary><ul id="readiness-checks"></ul></details>
  </section>

  <section aria-labelledby="blocks-title">
    <h2 id="blocks-title">Blocks <span class="live" title="checked every second">● live</span></h2>
    <p class="lead">Every change the partners share is recorded in a block that a quorum of partners signs. Click a block to see its changes.</p>
    <div class="row list-options"><label class="inline"><input type="checkbox" id="show-empty-blocks"> Show blocks without changes for you</label><span class="muted" id="blocks-hidden"></span></div>
    <p class="muted" id="schema-versions"></p>
    <div class="table-scroll"><table class="blocks">
      <thead><tr><th>Block</th><th>Committed</th><th>Proposed by</th><th>Changes</th><th>Schema</th><th>Hash</th></tr></thead>
      <tbody id="blocks-body"><tr><td colspan="6" class="empty">Loading…</td></tr></tbody>
    </table></div>
    <div class="row"><button type="button" id="load-older" hidden>Load older blocks</button></div>
    <div id="block-detail" class="detail"></div>
  </section>

  <section aria-labelledby="proof-title">
    <h2 id="proof-title">Check a proof</h2>
    <p class="lead">A proof shows that a partner signed a change and that the network committed it. Your browser checks it here, offline, with the same code as <code>entente proof --check</code>.</p>
    <label for="proof-input">Proof (JSON from <code>npx entente proof &lt;transaction id&gt; --data &lt;ledger directory&gt;</code>)</label>
    <textarea id="proof-input" rows="6" spellcheck="false" placeholder='{"format": "entente-proof/2", …}'></textarea>
    <div class="row"><button type="button" id="proof-check" class="primary">Check proof</button><label class="file">or choose a file <input type="file" id="proof-file" accept="application/json,.json"></label></div>
    <div id="proof-result" class="proof-result" role="status" aria-live="polite"></div>
  </section>

  <section aria-labelledby="access-title">
    <h2 id="access-title">Access</h2>
    <p class="lead">You see what your company's grants allow. If your gateway asks for credentials, paste an API key or token; it is kept in this browser tab only.</p>
    <form id="credential-form" class="row"><input id="credential-input" type="password" autocomplete="off" placeholder="API key or token"><button type="submit">Sign in</button><button type="button" id="credential-clear">Sign out</button><span id="credential-state" class="muted"></span></form>
  </section>
</main>
</body>
</html>
`;
}

export function idePageHtml(partner: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphQL IDE · ${escapeHtml(partner)} · Entente</title>
<link rel="stylesheet" href="/explorer/assets/explorer.css">
<link rel="stylesheet" href="/explorer/assets/ide.css">
<script type="module" src="/explorer/assets/ide.js"></script>
</head>
<body class="ide-page">
${navigation(partner, 'ide')}
<div id="ide" class="ide"><p class="lead">Loading the GraphQL IDE…</p></div>
</body>
</html>
`;
}
