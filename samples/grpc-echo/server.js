// grpc-echo server: `node server.js PORT` serves the Echo service over HTTP/2 cleartext on
// BIND_ADDRESS (default 0.0.0.0) and answers with SERVICE_VERSION (default "v1").
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const port = process.argv[2];
if (!port) {
  console.error('usage: server.js PORT');
  process.exit(2);
}
const version = process.env.SERVICE_VERSION || 'v1';
const bindAddress = process.env.BIND_ADDRESS || '0.0.0.0';
const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'));
const echo = grpc.loadPackageDefinition(definition).meshd.samples.Echo;

const maxStreamReplies = 1000;
const server = new grpc.Server();
server.addService(echo.service, {
  Say: (call, callback) => callback(null, { version, message: call.request.message }),
  SayMany: (call) => {
    const count = Math.min(Math.max(call.request.count, 0), maxStreamReplies);
    for (let index = 0; index < count; ++index) {
      call.write({ version, message: call.request.message, index });
    }
    call.end();
  },
  Fail: (call, callback) => {
    const code = call.request.count > 0 && call.request.count <= 16 ? call.request.count
                                                                      : grpc.status.UNKNOWN;
    callback({ code, details: call.request.message || `failed by ${version}` });
  },
});
server.bindAsync(`${bindAddress}:${port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    console.error(`cannot listen on ${bindAddress}:${port}: ${error.message}`);
    process.exit(1);
  }
  console.log(`grpc-echo ${version} listening on ${bindAddress}:${port}`);
});
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
