/** One problem with an input, located by its path (e.g. `exec_algorithm_params.duration_sec`). */
export interface Issue {
  path: string;
  message: string;
}

/**
 * The single error type for bad input anywhere in the platform (HTTP bodies, Pub/Sub payloads,
 * configuration, instrument ids). The HTTP layer maps it to 400 `{error:{code, issues}}`; the
 * Pub/Sub layer records it and dead-letters the message.
 */
export class ValidationError extends Error {
  readonly code: string;
  readonly issues: Issue[];

  constructor(code: string, issues: Issue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
    this.name = 'ValidationError';
    this.code = code;
    this.issues = issues;
  }
}

/** Render a path array (from zod or our own walkers) as `a.b[2].c`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Convert zod issues (v4 shape: {path, message}) to our issues. */
export function fromZodIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): Issue[] {
  return issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** Discriminated result in the zod style, used where failure is data rather than an exception. */
export type Result<T, E = ValidationError> = { success: true; data: T } | { success: false; error: E };
