// The release page's script, without a framework; the page works without it.
// - After a form's answer, the address becomes the release page's again, so reloading the page
//   reads it instead of posting the form a second time.
// - While a runbook runs, it follows the release's event stream and swaps in the runbook section
//   (served alone at PAGE/runbook) as steps start and end, then loads the page again once the
//   run has ended.
// - A hotfix's running stage counts its minutes.
(() => {
  const runbook = document.getElementById('runbook');
  const page = runbook?.dataset.page;
  if (page && location.pathname !== page) history.replaceState(null, '', page);
  const source = runbook?.dataset.live;
  if (source) {
    const ended = /^(staging_deployment|deployment|rollback)_(completed|failed)$/;
    let pending = null;
    const refresh = () => {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        const response = await fetch(`${page}/runbook`, { credentials: 'same-origin' });
        const html = new DOMParser().parseFromString(await response.text(), 'text/html');
        const fresh = html.getElementById('runbook');
        if (fresh) runbook.innerHTML = fresh.innerHTML;
      }, 150);
    };
    const events = new EventSource(source);
    events.addEventListener('step_started', refresh);
    events.addEventListener('step', refresh);
    events.addEventListener('event', (message) => {
      if (ended.test(JSON.parse(message.data).event)) {
        events.close();
        location.assign(page);
      } else {
        refresh();
      }
    });
  }
  for (const timer of document.querySelectorAll('.timer[data-started]')) {
    const started = Number(timer.dataset.started) * 1000;
    const tick = () => { timer.textContent = String(Math.floor((Date.now() - started) / 60000)); };
    setInterval(tick, 60000);
  }
})();
