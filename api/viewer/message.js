// The message line above the chart: errors in words a person can act on,
// the token form when the server wants one, and a retry when it is not ready.
import { els } from './elements.js';

/** What a server that is not ready yet (503) gets tried with again after 3 s; app.js wires it. */
let retry = () => {};

export function onRetry(fn) {
  retry = fn;
}

/** An error as a sentence a person can act on. */
function plainWords(err) {
  if (err.status === 401) return 'This server needs an API token. Paste one below (it stays in this browser tab only).';
  if (err.status === 0) return err.message;
  if (err.code === 'unknown_sensor') return `There is no data for that sensor: ${err.message}.`;
  if (err.status === 400) return `The server did not accept the request: ${err.message}.`;
  if (err.status === 504 || err.code === 'query_timeout') return `The query took too long and was stopped: ${err.message}.`;
  if (err.status === 503) return `The server is not ready yet (${err.message}). It will be tried again shortly.`;
  if (err.status >= 500) return `The server failed to answer (${err.message}). Try again; if it persists, see the server log.`;
  return err.message;
}

export function showMessage(text, kind = 'error') {
  els.message.textContent = text;
  els.message.className = kind === 'info' ? 'info' : '';
  els.message.hidden = !text;
}

export function showError(err) {
  showMessage(plainWords(err));
  els.tokenForm.hidden = err.status !== 401;
  if (err.status === 401) els.token.focus();
  if (err.status === 503) setTimeout(retry, 3000);
}
