// grpc-echo client: `node client.js TARGET [say COUNT | stream COUNT | fail CODE MESSAGE]`.
// TARGET is host:port (plaintext HTTP/2). `say` (the default, COUNT 1) makes COUNT unary calls and
// prints the version of each reply; `stream` makes one server-streaming call of COUNT replies and
// prints "stream <version> <replies>"; `fail` asks the server to fail with CODE and prints
// "status <code> <message>". Errors print "error <code> <details>" and exit with 1.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [target, mode = 'say', arg1 = '1', arg2 = ''] = process.argv.slice(2);
if (!target) {
  console.error('usage: client.js HOST:PORT [say COUNT | stream COUNT | fail CODE MESSAGE]');
  process.exit(2);
}
const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'));
const Echo = grpc.loadPackageDefinition(definition).meshd.samples.Echo;
const client = new Echo(target, grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 10000);

function fail(error) {
  console.log(`error ${error.code} ${error.details}`);
  process.exit(1);
}

async function say(count) {
  for (let i = 0; i < count; ++i) {
    const reply = await new Promise((resolve, reject) => {
      client.Say({ message: `hello ${i}` }, { deadline: deadline() },
                 (error, answer) => (error ? reject(error) : resolve(answer)));
    });
    console.log(reply.version);
  }
}

function stream(count) {
  return new Promise((resolve, reject) => {
    const replies = [];
    const call = client.SayMany({ message: 'stream', count }, { deadline: deadline() });
    call.on('data', (reply) => replies.push(reply));
    call.on('error', reject);
    call.on('end', () => {
      const inOrder = replies.every((reply, index) => reply.index === index);
      console.log(`stream ${replies.length ? replies[0].version : '-'} ${replies.length}` +
                  (inOrder ? '' : ' out-of-order'));
      resolve();
    });
  });
}

function failWith(code, message) {
  return new Promise((resolve) => {
    client.Fail({ message, count: code }, { deadline: deadline() }, (error) => {
      console.log(error ? `status ${error.code} ${error.details}` : 'status 0');
      resolve();
    });
  });
}

const run = mode === 'stream' ? stream(Number(arg1))
          : mode === 'fail'   ? failWith(Number(arg1), arg2)
                              : say(Number(arg1));
run.then(() => client.close(), fail);
