// An HTTP/2 cleartext (h2c, prior knowledge) backend for mesh-proxy's HTTP/2 upstream tests:
// `node h2c_backend.js [MAX_CONCURRENT_STREAMS]` listens on 127.0.0.1 (a free port), prints
// "PORT <n>", and answers by path:
//   /echo                 the request body back, with x-received-bytes
//   /bytes/N              N bytes of 'x'
//   /delay/MS             200 after MS milliseconds
//   /trailers             a body, then trailers grpc-status: 0
//   /reset                RST_STREAM(INTERNAL_ERROR) before any response
//   /refuse               RST_STREAM(REFUSED_STREAM) before any response
//   /goaway-once/KEY      the first request with KEY gets GOAWAY with a last stream id below its
//                         own (it was not processed); later ones are answered
//   /close-after-head     a head, some body, then the connection is destroyed
//   /close-once/KEY       the first request with KEY has its connection destroyed before any
//                         response; later ones are answered
//   /stats                JSON {sessions, streams}: connections and streams seen so far
// Every response carries x-session (the connection's number) and x-stream (its stream id).
'use strict';
const http2 = require('http2');

const maxStreams = Number(process.argv[2] || 100);
let sessions = 0;
let streams = 0;
const goawaySeen = new Set();

const server = http2.createServer({ settings: { maxConcurrentStreams: maxStreams } });
server.on('session', (session) => {
  session.number = ++sessions;
});
server.on('stream', (stream, headers) => {
  ++streams;
  const path = headers[':path'];
  const base = {
    ':status': 200,
    'x-session': String(stream.session.number),
    'x-stream': String(stream.id),
    'x-seen-scheme': headers[':scheme'] || '',
    'x-seen-authority': headers[':authority'] || '',
  };
  const chunks = [];
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('error', () => {});
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    if (path === '/echo') {
      stream.respond({ ...base, 'x-received-bytes': String(body.length) });
      stream.end(body);
    } else if (path.startsWith('/bytes/')) {
      stream.respond(base);
      stream.end(Buffer.alloc(Number(path.slice(7)), 'x'));
    } else if (path.startsWith('/delay/')) {
      setTimeout(() => {
        if (!stream.destroyed) {
          stream.respond(base);
          stream.end('late');
        }
      }, Number(path.slice(7)));
    } else if (path === '/trailers') {
      stream.respond(base, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end('with-trailers');
    } else if (path === '/reset') {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } else if (path === '/refuse') {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    } else if (path.startsWith('/goaway-once/')) {
      if (goawaySeen.has(path)) {
        stream.respond(base);
        stream.end('after-goaway');
      } else {
        goawaySeen.add(path);
        stream.session.goaway(http2.constants.NGHTTP2_NO_ERROR, Math.max(0, stream.id - 2));
      }
    } else if (path.startsWith('/close-once/')) {
      if (goawaySeen.has(path)) {
        stream.respond(base);
        stream.end('after-close');
      } else {
        goawaySeen.add(path);
        stream.session.destroy();
      }
    } else if (path === '/close-after-head') {
      stream.respond(base);
      stream.write('partial');
      setTimeout(() => stream.session.destroy(), 50);
    } else if (path === '/stats') {
      stream.respond({ ...base, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ sessions, streams }));
    } else {
      stream.respond({ ...base, ':status': 404 });
      stream.end('not found');
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
