/**
 * Discord attachments (on the question's message and earlier in its thread) as files the
 * conversation layer can read. Attachment URLs are signed CDN links that need no token, so the
 * bot token never leaves for a download.
 */
import type { Attachment, Collection, Message, TextBasedChannel, ThreadChannel } from 'discord.js';
import type { AttachedFile } from '../../conversation/attachments.js';
import { DownloadError, downloadLimited } from '../../conversation/download.js';

const DOWNLOAD_TIMEOUT_MS = 20_000;

export function discordAttachedFile(attachment: Attachment, timeoutMs = DOWNLOAD_TIMEOUT_MS): AttachedFile {
  return {
    id: attachment.id,
    name: attachment.name,
    size: attachment.size,
    ...(attachment.contentType ? { mimeType: attachment.contentType } : {}),
    async download(maxBytes, signal) {
      if (!/^https?:\/\//i.test(attachment.url)) throw new DownloadError('refused', 'it has no web address');
      const { data } = await downloadLimited({
        url: attachment.url,
        maxBytes,
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
      return data;
    },
  };
}

const fromPeople = (message: Message) => !message.author.bot && !message.webhookId && !message.system;

/**
 * The files of `message`, then those people posted earlier in its thread (newest first,
 * including the message the thread was started from). `fetched` is the thread's recent
 * messages, read once for both the history and the files.
 */
export async function questionFiles(
  message: Message,
  channel: TextBasedChannel,
  fetched: Promise<Collection<string, Message>>,
): Promise<Attachment[]> {
  const own = [...message.attachments.values()];
  if (!channel.isThread()) return own;
  const thread = channel as ThreadChannel;
  const recent = await fetched;
  const earlier = [...recent.values()]
    .filter(fromPeople)
    .sort((a, b) => b.createdTimestamp - a.createdTimestamp || (BigInt(a.id) < BigInt(b.id) ? 1 : -1));
  const starter = await thread.fetchStarterMessage().catch(() => null);
  if (starter && fromPeople(starter) && !earlier.some((m) => m.id === starter.id)) earlier.push(starter);
  const seen = new Set(own.map((attachment) => attachment.id));
  const older = earlier
    .flatMap((m) => [...m.attachments.values()])
    .filter((attachment) => !seen.has(attachment.id) && Boolean(seen.add(attachment.id)));
  return [...own, ...older];
}
