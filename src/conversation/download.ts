/**
 * Fetches a file a user attached, never holding more than a limit: the size a platform declares
 * is checked first, then the bytes are counted as they stream in and the transfer is cut the
 * moment they pass the limit (a declared size is a claim, not a guarantee). A deadline bounds
 * the whole transfer. Failures are `DownloadError`s whose reason is safe to show a user: no
 * URL, header or token ever goes into one.
 */

export type DownloadProblem = 'too_large' | 'refused' | 'not_found' | 'failed' | 'timeout';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly problem: DownloadProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface DownloadRequest {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Aborts the transfer (the question was withdrawn). */
  readonly signal?: AbortSignal;
}

export interface Downloaded {
  readonly data: Buffer;
  /** The content type the server sent, lower-cased, without parameters. */
  readonly contentType?: string;
}

function statusProblem(status: number): DownloadError {
  if (status === 401 || status === 403)
    return new DownloadError('refused', `the file server refused access (HTTP ${status})`);
  if (status === 404 || status === 410)
    return new DownloadError('not_found', `the file is gone (HTTP ${status})`);
  return new DownloadError('failed', `the file server answered HTTP ${status}`);
}

export async function downloadLimited(request: DownloadRequest): Promise<Downloaded> {
  const deadline = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([deadline, request.signal]) : deadline;
  let response: Response;
  try {
    response = await fetch(request.url, { headers: { ...request.headers }, signal, redirect: 'follow' });
  } catch {
    throw deadline.aborted
      ? new DownloadError('timeout', 'the download took too long')
      : new DownloadError('failed', 'the file server could not be reached');
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw statusProblem(response.status);
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > request.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadError('too_large', 'the file is over the size limit');
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > request.maxBytes) throw new DownloadError('too_large', 'the file is over the size limit');
      parts.push(value);
    }
  } catch (error) {
    await reader?.cancel().catch(() => undefined);
    if (error instanceof DownloadError) throw error;
    throw deadline.aborted
      ? new DownloadError('timeout', 'the download took too long')
      : new DownloadError('failed', 'the download was cut off');
  }
  const contentType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return { data: Buffer.concat(parts, total), ...(contentType ? { contentType } : {}) };
}
