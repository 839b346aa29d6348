import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescriptorHeadroom, headroomOf, openFilesLimit } from '../src/primary/descriptor-headroom.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('the soft limit of open files is read from /proc/self/limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-limits-'));
  try {
    writeFileSync(join(dir, 'limits'), LIMITS);
    assert.equal(openFilesLimit(join(dir, 'limits')), 1024);
    writeFileSync(join(dir, 'unlimited'), LIMITS.replace('1024                 524288', 'unlimited            unlimited'));
    assert.equal(openFilesLimit(join(dir, 'unlimited')), null);
    assert.equal(openFilesLimit(join(dir, 'missing')), null);
    assert.ok((openFilesLimit() ?? 0) > 0, "this process's own");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('headroom: a sixteenth of the table, at least 32, at most 512; refused below its middle, closed above', () => {
  assert.equal(headroomOf(128), 32);
  assert.equal(headroomOf(1024), 64);
  assert.equal(headroomOf(1_048_576), 512);
  const at = (fd: number): Socket => ({ _handle: { fd } }) as unknown as Socket;
  const room = new DescriptorHeadroom(1024);
  assert.deepEqual([959, 960, 991, 992].map((fd) => [room.low(at(fd)), room.exhausted(at(fd))]), [
    [false, false],
    [true, false],
    [true, false],
    [true, true],
  ]);
  assert.equal(room.low({ _handle: null } as unknown as Socket), false, 'a socket already closed is not counted');
});
