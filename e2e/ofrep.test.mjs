// OFREP conformance: Greenlight's evaluation endpoints driven by the OpenFeature SDKs themselves,
// unchanged: the server SDK with the OFREP provider (one request per flag) and the web SDK with
// the OFREP web provider (bulk evaluation, ETag polling).
//
// Started by `cargo test -p greenlight --test ofrep_sdk`, which runs a server, creates the flags
// below and passes GREENLIGHT_URL and GREENLIGHT_TOKEN (an engineering lead's):
//   new-rhythm-game  boolean, rolled out to the internal segment only
//   theme            JSON variants blue/grey, everyone at 100%
//   retired-game     boolean, killed
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature as Server, ErrorCode } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as Web } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const url = process.env.GREENLIGHT_URL;
const token = process.env.GREENLIGHT_TOKEN;
if (!url || !token) {
  throw new Error('GREENLIGHT_URL and GREENLIGHT_TOKEN must be set (run through cargo test)');
}

const staff = { targetingKey: 'staff-1', groups: ['internal'] };
const student = { targetingKey: 'student-1' };

test('the server SDK evaluates each flag over OFREP', async () => {
  await Server.setProviderAndWait(new OFREPProvider({ baseUrl: url }));
  const client = Server.getClient();

  const staffGame = await client.getBooleanDetails('new-rhythm-game', false, staff);
  assert.equal(staffGame.value, true);
  assert.equal(staffGame.reason, 'TARGETING_MATCH');
  assert.equal(staffGame.variant, 'on');
  assert.equal(staffGame.errorCode, undefined);

  const studentGame = await client.getBooleanDetails('new-rhythm-game', true, student);
  assert.equal(studentGame.value, false, 'students are outside the internal stage');
  assert.equal(studentGame.reason, 'DEFAULT');
  assert.equal(studentGame.variant, 'off');

  const retired = await client.getBooleanDetails('retired-game', true, staff);
  assert.equal(retired.value, false);
  assert.equal(retired.reason, 'DISABLED');

  const theme = await client.getObjectDetails('theme', {}, student);
  assert.ok(['blue', 'grey'].includes(theme.variant), theme.variant);
  assert.deepEqual(theme.value, { color: theme.variant });
  assert.equal(theme.reason, 'STATIC');

  const missing = await client.getBooleanDetails('no-such-flag', true, staff);
  assert.equal(missing.value, true, 'the default when the flag is unknown');
  assert.equal(missing.errorCode, ErrorCode.FLAG_NOT_FOUND);
  assert.equal(missing.reason, 'ERROR');

  const mismatch = await client.getStringDetails('new-rhythm-game', 'fallback', staff);
  assert.equal(mismatch.value, 'fallback');
  assert.equal(mismatch.errorCode, ErrorCode.TYPE_MISMATCH);

  await Server.close();
});

test('the web SDK loads all flags in bulk, polls with ETags and sees a kill', async () => {
  const statuses = [];
  const recordingFetch = async (input, init) => {
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  };
  const provider = new OFREPWebProvider({
    baseUrl: url,
    pollInterval: 100,
    cacheMode: 'disabled',
    changeDetection: 'polling',
    fetchImplementation: recordingFetch,
  });
  await Web.setContext(staff);
  await Web.setProviderAndWait(provider);
  const client = Web.getClient();

  const game = client.getBooleanDetails('new-rhythm-game', false);
  assert.equal(game.value, true);
  assert.equal(game.reason, 'TARGETING_MATCH');
  const theme = client.getObjectDetails('theme', {});
  assert.deepEqual(theme.value, { color: theme.variant });
  assert.equal(client.getBooleanValue('retired-game', true), false);

  await waitFor(() => statuses.includes(304), 'a 304 for an unchanged poll');
  assert.equal(statuses[0], 200, `first load: ${statuses}`);

  const changed = new Promise((resolve) => client.addHandler('PROVIDER_CONFIGURATION_CHANGED', resolve));
  const kill = await fetch(`${url}/api/v1/flags/new-rhythm-game/kill`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'scores not saved (OFREP conformance test)' }),
  });
  assert.equal(kill.status, 200, await kill.text());
  await withTimeout(changed, 3000, 'no change event within 3 s of the kill');

  const killed = client.getBooleanDetails('new-rhythm-game', true);
  assert.equal(killed.value, false);
  assert.equal(killed.reason, 'DISABLED');
  assert.ok(statuses.lastIndexOf(200) > statuses.indexOf(304), `a new 200 after the kill: ${statuses}`);

  await Web.close();
});

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(check, what, limitMs = 3000) {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`${what} not seen within ${limitMs} ms`);
}
