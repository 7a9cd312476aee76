/**
 * The ids of an import: a UUID is kept (lower-cased); any other id becomes the UUIDv5 of `student:<id>` or
 * `concept:<id>` under the namespace (BKT_IMPORT_NAMESPACE unless another is given). Each row's response_id is the
 * UUIDv5 of `response:<sha256 of the file>:<line>`, so importing the same file again finds its rows recorded.
 */
import { hash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { ResponseData } from '../bkt/index.js';
import { ServiceError } from './errors.js';
import type { PairKey } from './ports.js';

/** The namespace of imported ids (a fixed, random UUID; documented in docs/fitting-service.md). */
export const BKT_IMPORT_NAMESPACE = '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5f';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UUID an imported id is stored under. */
export function importedId(kind: 'student' | 'concept', id: string, namespace: string = BKT_IMPORT_NAMESPACE): string {
  return UUID.test(id) ? id.toLowerCase() : uuidv5(`${kind}:${id}`, namespace);
}

/**
 * The response ids of one file: UUIDv5 (RFC 9562: SHA-1 of the namespace's 16 bytes and the name, version and
 * variant bits set) of `response:<sha256 of the file>:<line>`, computed straight into bytes with one buffer for all
 * lines (an import makes one per row; the general-purpose v5 costs several allocations and a validation each).
 */
export class ResponseIds {
  private readonly buf: Buffer;
  private readonly prefix: number;

  constructor(sha256: string, namespace: string = BKT_IMPORT_NAMESPACE) {
    const head = Buffer.from(`response:${sha256}:`, 'utf8');
    this.buf = Buffer.alloc(16 + head.length + 20);
    Buffer.from(namespace.replaceAll('-', ''), 'hex').copy(this.buf, 0);
    head.copy(this.buf, 16);
    this.prefix = 16 + head.length;
  }

  /** Writes the id of `line` as 16 bytes at `out[at..]`. */
  write(line: number, out: Uint8Array, at: number): void {
    const end = this.prefix + this.buf.write(String(line), this.prefix, 'latin1');
    const d = hash('sha1', this.buf.subarray(0, end), 'buffer');
    out.set(d.subarray(0, 16), at);
    out[at + 6] = (d[6] & 0x0f) | 0x50;
    out[at + 8] = (d[8] & 0x3f) | 0x80;
  }

  /** The id of `line` in text form. */
  text(line: number): string {
    const b = new Uint8Array(16);
    this.write(line, b, 0);
    const h = Buffer.from(b).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** The response_id of the row on `line` of the file whose bytes hash to `sha256`. */
export function importedResponseId(sha256: string, line: number, namespace: string = BKT_IMPORT_NAMESPACE): string {
  return new ResponseIds(sha256, namespace).text(line);
}

export interface ImportMapping {
  readonly students: ReadonlyArray<readonly [original: string, uuid: string]>;
  readonly concepts: ReadonlyArray<readonly [original: string, uuid: string]>;
}

/** (student, concept) order; UUIDs in lower-case text compare like the database compares their bytes. */
export const byPairKey = (a: PairKey, b: PairKey): number =>
  a.studentId < b.studentId ? -1 : a.studentId > b.studentId ? 1 : a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0;

/** The UUIDs of the file's ids, checked for collisions (two ids differing only in the case of a UUID). */
export function mapIds(data: ResponseData, namespace: string = BKT_IMPORT_NAMESPACE): ImportMapping {
  const map = (kind: 'student' | 'concept', ids: readonly string[]) => {
    const seen = new Map<string, string>();
    return ids.map((id): readonly [string, string] => {
      const u = importedId(kind, id, namespace);
      const other = seen.get(u);
      if (other !== undefined) {
        throw new ServiceError('invalid_input', `${kind} ids ${JSON.stringify(other)} and ${JSON.stringify(id)} are the same UUID`, `${kind}_id`);
      }
      seen.set(u, id);
      return [id, u];
    });
  };
  return { students: map('student', data.studentIds), concepts: map('concept', data.conceptIds) };
}
