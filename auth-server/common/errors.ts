// HTTP-facing errors with stable codes, rendered as RFC 9457 problem JSON by the error middleware.

export type ProblemCode =
  | 'bad_request'
  | 'invalid_body'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  /** Field-level problems for invalid input. */
  errors?: { path: string; message: string }[];
}

const titles: Record<ProblemCode, string> = {
  bad_request: 'Bad request',
  invalid_body: 'Invalid request body',
  body_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  rate_limited: 'Too many requests',
  unavailable: 'Service unavailable',
  internal: 'Internal server error',
};

export class HttpProblem extends Error {
  /** Koa convention: messages of client errors may be shown, server errors never. */
  readonly expose: boolean;
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly errors?: { path: string; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? titles[code]);
    this.name = 'HttpProblem';
    this.expose = status < 500;
  }

  toJSON(): ProblemDetails {
    const body: ProblemDetails = {
      type: `https://nextauth.dev/problems/${this.code.replaceAll('_', '-')}`,
      title: titles[this.code],
      status: this.status,
      code: this.code,
    };
    if (this.detail !== undefined) body.detail = this.detail;
    if (this.errors !== undefined) body.errors = this.errors;
    return body;
  }
}

export const problems = {
  badRequest: (detail: string) => new HttpProblem(400, 'bad_request', detail),
  invalidBody: (errors: { path: string; message: string }[]) =>
    new HttpProblem(400, 'invalid_body', 'The request body does not match the expected shape', errors),
  bodyTooLarge: (limit: number) => new HttpProblem(413, 'body_too_large', `The body exceeds ${limit} bytes`),
  unsupportedMediaType: (expected: string) =>
    new HttpProblem(415, 'unsupported_media_type', `Expected Content-Type ${expected}`),
  unauthorized: (detail = 'Missing or invalid credentials') => new HttpProblem(401, 'unauthorized', detail),
  forbidden: (detail = 'Not allowed') => new HttpProblem(403, 'forbidden', detail),
  notFound: (detail = 'No such resource') => new HttpProblem(404, 'not_found', detail),
  conflict: (detail: string) => new HttpProblem(409, 'conflict', detail),
  rateLimited: (retryAfterSeconds: number) =>
    new HttpProblem(429, 'rate_limited', 'Slow down', undefined, {
      'Retry-After': String(retryAfterSeconds),
    }),
  unavailable: (detail = 'Temporarily unavailable') =>
    new HttpProblem(503, 'unavailable', detail, undefined, { 'Retry-After': '5' }),
};
