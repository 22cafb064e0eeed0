import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader, MAX_FRAME, ProtocolError, decodeReply, decodeRequest, encodeFrames, encodeReply, encodeRequest } from './protocol.js';

function frames(bytes: Buffer, chunk: number): Buffer[] {
  const r = new FrameReader();
  for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk));
  return r.frames;
}

describe('TABBY-CNI/1 framing', () => {
  it('round-trips a request however the bytes are chunked', () => {
    const req = { plugin: 'tabby-ipam', env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b=c;D=e' }, stdin: Buffer.from('{"cniVersion":"1.0.0"}') };
    const bytes = encodeRequest(req);
    for (const chunk of [1, 3, 7, bytes.length]) {
      const back = decodeRequest(frames(bytes, chunk));
      assert.equal(back.plugin, 'tabby-ipam');
      assert.deepEqual(back.env, req.env);
      assert.equal(back.stdin.toString(), req.stdin.toString());
    }
  });

  it('encodes the layout the C shim reads: big-endian lengths, NUL-terminated env entries', () => {
    const bytes = encodeRequest({ plugin: 'tabby', env: { CNI_COMMAND: 'DEL' }, stdin: Buffer.alloc(0) });
    const header = 'TABBY-CNI/1 tabby';
    assert.equal(bytes.readUInt32BE(0), header.length);
    assert.equal(bytes.subarray(4, 4 + header.length).toString(), header);
    const envStart = 4 + header.length;
    assert.equal(bytes.readUInt32BE(envStart), 'CNI_COMMAND=DEL\0'.length);
    assert.equal(bytes.subarray(envStart + 4, envStart + 4 + 16).toString(), 'CNI_COMMAND=DEL\0');
    assert.equal(bytes.readUInt32BE(bytes.length - 4), 0);
  });

  it('round-trips a reply with its exit code', () => {
    const r = decodeReply(frames(encodeReply({ exitCode: 1, stdout: '{"code":11}\n', stderr: 'log' }), 5));
    assert.deepEqual(r, { exitCode: 1, stdout: '{"code":11}\n', stderr: 'log' });
  });

  it('rejects a foreign header, a bad env entry, a wrong frame count and an oversized frame', () => {
    assert.throws(() => decodeRequest([Buffer.from('HTTP/1.1 tabby'), Buffer.alloc(0), Buffer.alloc(0)]), ProtocolError);
    assert.throws(() => decodeRequest([Buffer.from('TABBY-CNI/1 tabby'), Buffer.from('NOEQUALS\0'), Buffer.alloc(0)]), /not NAME=value/);
    assert.throws(() => decodeRequest([Buffer.from('TABBY-CNI/1 tabby')]), /3 frames/);
    assert.throws(() => decodeReply([Buffer.from('TABBY-CNI/1 300'), Buffer.alloc(0), Buffer.alloc(0)]), /exit code/);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(MAX_FRAME + 1, 0);
    assert.throws(() => new FrameReader().push(huge), /limit/);
    assert.throws(() => encodeFrames([Buffer.alloc(MAX_FRAME + 1)]), /limit/);
  });
});
