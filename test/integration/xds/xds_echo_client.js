// The proxyless gRPC client of the xDS interop test. With GRPC_XDS_BOOTSTRAP set, it dials
// xds:///TARGET through @grpc/grpc-js-xds, so routing and endpoints come from our xDS server.
//
//   node xds_echo_client.js TARGET FIRST_CALLS GO_FILE WANTED_BACKEND AFTER_CALLS [STREAK]
//
// Phase 1: FIRST_CALLS unary calls, one line "CALL 1 <backend>" each, then "PHASE1 DONE".
// Then it waits (bounded) for GO_FILE to exist (the test has changed the config), calls until
// WANTED_BACKEND answers STREAK calls in a row (default 1; bounded), then AFTER_CALLS more calls
// ("CALL 2 <backend>"), "DONE". A test whose new config sends everything to WANTED_BACKEND asks
// for a streak: one answer alone can come from the old config.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
require('@grpc/grpc-js-xds').register();

const [target, firstCallsText, goFile, wantedBackend, afterCallsText, streakText] =
  process.argv.slice(2);
const firstCalls = Number(firstCallsText);
const afterCalls = Number(afterCallsText);
const kCallDeadlineMs = 10000;
const kWaitMs = 30000;
const kStreak = Number(streakText || '1');

const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'));
const echoProto = grpc.loadPackageDefinition(definition).meshd.test;
const client = new echoProto.Echo(`xds:///${target}`, grpc.credentials.createInsecure());

function say() {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + kCallDeadlineMs);
    // Wait for a usable config (it may arrive after the first call) instead of failing fast.
    const metadata = new grpc.Metadata({ waitForReady: true });
    client.Say({ message: 'hi' }, metadata, { deadline }, (error, reply) =>
      error ? reject(error) : resolve(reply.backend));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  for (let i = 0; i < firstCalls; ++i) {
    console.log(`CALL 1 ${await say()}`);
  }
  console.log('PHASE1 DONE');
  const waitUntil = Date.now() + kWaitMs;
  while (!fs.existsSync(goFile)) {
    if (Date.now() > waitUntil) throw new Error(`${goFile} did not appear`);
    await sleep(20);
  }
  let streak = 0;
  const seenUntil = Date.now() + kWaitMs;
  while (streak < kStreak) {
    if (Date.now() > seenUntil) throw new Error(`${wantedBackend} never answered ${kStreak} in a row`);
    const backend = await say();
    console.log(`CALL T ${backend}`);
    streak = backend === wantedBackend ? streak + 1 : 0;
    if (streak === 0) await sleep(10);
  }
  for (let i = 0; i < afterCalls; ++i) {
    console.log(`CALL 2 ${await say()}`);
  }
  console.log('DONE');
  client.close();
  process.exit(0);
}

main().catch((error) => {
  console.error(`client failed: ${error.message}`);
  process.exit(1);
});
