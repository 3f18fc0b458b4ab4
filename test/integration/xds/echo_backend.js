// A gRPC echo backend for the xDS interop test: `node echo_backend.js NAME` listens on
// 127.0.0.1 (a free port), prints "PORT <n>", and answers every call with its NAME.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const name = process.argv[2];
if (!name) {
  console.error('usage: echo_backend.js NAME');
  process.exit(2);
}
const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'));
const echoProto = grpc.loadPackageDefinition(definition).meshd.test;

const server = new grpc.Server();
server.addService(echoProto.Echo.service, {
  Say: (call, callback) => callback(null, { backend: name }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    console.error(`cannot listen: ${error.message}`);
    process.exit(1);
  }
  console.log(`PORT ${port}`);
});
process.on('SIGTERM', () => server.forceShutdown() || process.exit(0));
