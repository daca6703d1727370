/**
 * Slack's file objects (on `file_share` messages, mentions and thread replies) as files the
 * conversation layer can read. A file is fetched from its `url_private_download` with the bot
 * token, which is only ever sent to Slack's own file host (or the configured API host, which
 * tests point at a loopback fake): a URL anywhere else gets no token and no request. Needs the
 * `files:read` scope; without it Slack answers with a sign-in page, reported as such.
 */
import type { webApi } from '@slack/bolt';
import * as v from 'valibot';
import type { AttachedFile } from '../../conversation/attachments.js';
import { DownloadError, downloadLimited } from '../../conversation/download.js';

const optionalText = v.optional(v.string());

const slackFile = v.object({
  id: v.string(),
  name: optionalText,
  title: optionalText,
  mimetype: optionalText,
  filetype: optionalText,
  size: v.optional(v.pipe(v.number(), v.finite())),
  url_private: optionalText,
  url_private_download: optionalText,
  /** hosted, snippet, post, external (a link to Drive etc.), tombstone (deleted). */
  mode: optionalText,
  /** `check_file_info` on some shared-channel events: the object is a stub. */
  file_access: optionalText,
});
export type SlackFile = v.InferOutput<typeof slackFile>;

/** The files on a message or event that are still there; malformed entries are left out. */
export function filesOf(message: { files?: unknown }): SlackFile[] {
  if (!Array.isArray(message.files)) return [];
  return message.files
    .map((file) => v.safeParse(slackFile, file))
    .filter((parsed) => parsed.success)
    .map((parsed) => parsed.output)
    .filter((file) => file.mode !== 'tombstone' && file.file_access !== 'file_not_found');
}

/** Files of the question first, then earlier ones; each file once. */
export function uniqueFiles(...groups: readonly (readonly SlackFile[])[]): SlackFile[] {
  const seen = new Set<string>();
  return groups.flat().filter((file) => !seen.has(file.id) && Boolean(seen.add(file.id)));
}

/**
 * Some events (shared channels among them) carry only a stub `{id, file_access:
 * "check_file_info"}`: files.info gives the whole object. A stub that cannot be resolved is
 * kept, and its download says Slack did not share it.
 */
export async function resolveStubs(
  client: webApi.WebClient,
  files: readonly SlackFile[],
): Promise<SlackFile[]> {
  return Promise.all(
    files.map(async (file) => {
      if (file.file_access !== 'check_file_info') return file;
      try {
        const info = await client.files.info({ file: file.id });
        const parsed = v.safeParse(slackFile, info.file);
        return parsed.success ? { ...parsed.output, file_access: 'visible' } : file;
      } catch {
        return file;
      }
    }),
  );
}

const SLACK_FILE_HOST = 'files.slack.com';
const DOWNLOAD_TIMEOUT_MS = 20_000;

export interface SlackFileAccess {
  readonly botToken: string;
  /** SLACK_API_URL: its host is trusted with the token too (the fake in tests). */
  readonly apiURL?: string;
  readonly timeoutMs?: number;
}

/** Whether the bot token may be sent to `url`. */
export function isSlackFileHost(url: string, apiURL: string | undefined): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol === 'https:' && target.hostname === SLACK_FILE_HOST) return true;
  if (!apiURL) return false;
  const api = new URL(apiURL);
  return target.protocol === api.protocol && target.host === api.host;
}

export function slackAttachedFile(file: SlackFile, access: SlackFileAccess): AttachedFile {
  const name = file.name ?? file.title ?? file.id;
  return {
    id: file.id,
    name,
    ...(file.size !== undefined ? { size: file.size } : {}),
    ...(file.mimetype ? { mimeType: file.mimetype } : {}),
    ...(file.filetype ? { typeHint: file.filetype } : {}),
    async download(maxBytes, signal) {
      if (file.mode === 'external')
        throw new DownloadError('failed', 'it is a link to a file stored outside Slack');
      const url = file.url_private_download ?? file.url_private;
      if (!url || file.file_access === 'check_file_info')
        throw new DownloadError('refused', 'Slack did not share it with the app');
      if (!isSlackFileHost(url, access.apiURL))
        throw new DownloadError('refused', 'it is not stored on Slack’s file server');
      const { data, contentType } = await downloadLimited({
        url,
        headers: { authorization: `Bearer ${access.botToken}` },
        maxBytes,
        timeoutMs: access.timeoutMs ?? DOWNLOAD_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      });
      // Without files:read Slack answers 200 with its sign-in page instead of the file.
      const expectsHtml = file.filetype === 'html' || file.mimetype === 'text/html';
      if (contentType === 'text/html' && !expectsHtml)
        throw new DownloadError(
          'refused',
          'Slack sent a sign-in page: the app may lack the files:read scope',
        );
      return data;
    },
  };
}
