/** The import's response ids: byte-for-byte the UUIDv5 of the documented name, as the general-purpose uuid package computes it. */
import fc from 'fast-check';
import { v5 as uuidv5 } from 'uuid';
import { expect, it } from 'vitest';
import { BKT_IMPORT_NAMESPACE, importedResponseId, ResponseIds } from '../../src/service/import-log.js';
import { TEST_SEED } from '../support/seed.js';

it('equals uuid v5 of response:<sha256>:<line> for any file hash, line and namespace', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.nat({ max: 2 ** 31 }), fc.constantFrom(BKT_IMPORT_NAMESPACE, '6ba7b811-9dad-11d1-80b4-00c04fd430c8'), (sha, line, ns) => {
      const expected = uuidv5(`response:${sha}:${line}`, ns);
      const ids = new ResponseIds(sha, ns);
      expect(ids.text(line)).toBe(expected);
      const out = new Uint8Array(20);
      ids.write(line, out, 2);
      expect(Buffer.from(out.subarray(2, 18)).toString('hex')).toBe(expected.replaceAll('-', ''));
      expect(importedResponseId(sha, line, ns)).toBe(expected);
    }),
    { seed: TEST_SEED, numRuns: 300 },
  );
});
