import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aclToContainer, capToContainer, xattrsToContainer } from '../../src/archive/layer-owners.js';
import type { IdMap } from '../../src/core/idmap.js';

const map: IdMap = { uid: [{ containerID: 0, hostID: 100000, size: 65536 }], gid: [{ containerID: 0, hostID: 200000, size: 65536 }] };

function cap(magic: number, rootid?: number): Buffer {
  const b = Buffer.alloc(rootid === undefined ? 20 : 24);
  b.writeUInt32LE(magic >>> 0, 0);
  b.writeUInt32LE(0x2000, 4); // permitted: cap_net_bind_service
  if (rootid !== undefined) b.writeUInt32LE(rootid, 20);
  return b;
}

test("a v3 file capability of the container's root becomes the v2 an unmapped root writes", () => {
  const out = capToContainer(cap(0x03000001, 100000), map);
  assert.deepEqual(out, cap(0x02000001));
});

test('a v3 capability of another mapped uid keeps v3 with its container uid; outside the mapping, the overflow id', () => {
  assert.deepEqual(capToContainer(cap(0x03000000, 101000), map), cap(0x03000000, 1000));
  assert.deepEqual(capToContainer(cap(0x03000000, 5), map), cap(0x03000000, 65534));
});

test('v2 capabilities and malformed values pass unchanged', () => {
  const v2 = cap(0x02000001);
  assert.equal(capToContainer(v2, map), v2);
  const odd = Buffer.from([1, 2, 3]);
  assert.equal(capToContainer(odd, map), odd);
  const bad = cap(0x05000000, 100000);
  assert.deepEqual(capToContainer(bad, map), bad);
});

test('ACL named users and groups become container ids; owner, mask and other entries stay', () => {
  const entries: Array<[number, number, number]> = [
    [0x01, 6, 0xffffffff], // user::
    [0x02, 4, 101234], // user:1234
    [0x08, 4, 205678], // group:5678
    [0x10, 4, 0xffffffff], // mask
    [0x20, 0, 0xffffffff], // other
  ];
  const acl = (es: Array<[number, number, number]>) => {
    const b = Buffer.alloc(4 + es.length * 8);
    b.writeUInt32LE(2, 0);
    es.forEach(([tag, perm, id], i) => {
      b.writeUInt16LE(tag, 4 + i * 8);
      b.writeUInt16LE(perm, 6 + i * 8);
      b.writeUInt32LE(id, 8 + i * 8);
    });
    return b;
  };
  const want = entries.map((e): [number, number, number] => (e[0] === 0x02 ? [2, 4, 1234] : e[0] === 0x08 ? [8, 4, 5678] : e));
  assert.deepEqual(aclToContainer(acl(entries), map), acl(want));
  const x = xattrsToContainer(
    new Map([
      ['system.posix_acl_access', acl(entries)],
      ['user.note', Buffer.from('101234')],
    ]),
    map,
  );
  assert.deepEqual(x.get('system.posix_acl_access'), acl(want));
  assert.deepEqual(x.get('user.note'), Buffer.from('101234'));
});
