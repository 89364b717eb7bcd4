/**
 * Errors crossing the binding (needs the built addon, not root): the
 * native side throws Error objects with `code`, and `syscall`/`errno` for a
 * failed syscall, as properties; the message carries no trailer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AfxdpError, native } from '../../ts/errors.js';
import { binding } from '../../ts/native.js';
import { open } from '../../ts/index.js';

test('a validation error has its stable code and a clean message', () => {
  try {
    new binding.NativeUmem({ frameSize: 1000 });
    assert.fail('accepted frame size 1000');
  } catch (err) {
    const e = err as Error & { code?: string; syscall?: unknown };
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'ERR_INVALID_FRAME_SIZE');
    assert.equal(e.message, 'frame size must be 2048 or 4096, got 1000');
    assert.equal(e.syscall, undefined);
  }
});

test('a failed syscall carries syscall and errno as properties, and AfxdpError keeps them', () => {
  const err = (() => {
    try {
      native(() => binding.enterNetns('afxdp-no-such-netns-for-test'));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof AfxdpError);
  assert.equal(err.code, 'ERR_SYSCALL');
  assert.equal(err.syscall, 'open');
  assert.equal(err.errno, 2);
  assert.ok(!err.message.includes('@afxdp-detail'), err.message);
  assert.match(err.message, /ENOENT/);
});

test('a mode outside the string enum is ERR_INVALID_OPTION', async () => {
  await assert.rejects(
    open({ interface: 'lo', mode: 'drv' as 'native' }),
    (e: unknown) => e instanceof AfxdpError && e.code === 'ERR_INVALID_OPTION',
  );
});
