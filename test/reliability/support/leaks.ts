/**
 * What an error answer must never carry: a stack frame, a file path, or the name of a table, schema or column that
 * is not also an API field. Text the request itself contained is allowed back (a 404 names the path asked for).
 */

/** Tables, schemas and columns of the migrations that are not API field names. */
export const INTERNAL_NAMES = [
  'student_mastery',
  'mastery_history',
  'bkt_parameters',
  'bkt_internal',
  'schema_migrations',
  'parameters_epoch',
  'erase_student',
  'p_known',
  'p_unknown',
  'mastery_level',
  'params_version',
  'p_unknown_after',
  'response_correct',
  'first_answered_at',
  'last_answered_at',
  'p_l0',
  'p_t',
  'p_g',
  'p_s',
  'p_f',
  'sqlstate',
  'pg_catalog',
  'jsonb_to_recordset',
  'violates',
  'duplicate key',
  'syntax error at',
  'relation "',
];

/** Patterns of stack frames and paths. */
const FRAME_PATTERNS = [
  /\n\s*at\s+\S/, // a stack frame line
  /\bat\s+[\w.<>]+\s+\(/, // "at fn (" inline
  /[\w-]+\.(?:ts|js|mjs|cjs):\d+/, // file:line
  /node_modules/,
  /(?:^|[\s"'(])\/(?:home|usr|tmp|work|var|opt|root|app|src|dist)\//, // absolute paths
  /[A-Z]:\\\\/, // Windows paths
  /file:\/\//,
];

/** Returns what leaked (empty when nothing did). `request` is everything the client sent, as text. */
export function findLeaks(answer: string, request: string): string[] {
  const lower = answer.toLowerCase();
  const asked = request.toLowerCase();
  const found: string[] = [];
  for (const name of INTERNAL_NAMES) {
    // Word-ish match: p_t must not match inside "p_t..." of an echoed field like "p_tx"; names are rare enough.
    const re = new RegExp(`(^|[^a-z0-9_])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9_]|$)`);
    if (re.test(lower) && !asked.includes(name)) found.push(name);
  }
  for (const p of FRAME_PATTERNS) {
    const m = p.exec(answer);
    if (m && !request.includes(m[0].trim())) found.push(`${p}: ${m[0]}`);
  }
  return found;
}
