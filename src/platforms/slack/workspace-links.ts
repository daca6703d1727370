/**
 * Links to Slack messages without a Web API call per answer. A message's permalink is the
 * workspace's URL (auth.test's `url`) + `archives/<channel>/p<ts without its dot>`; the URL is
 * learnt once per workspace: at start-up with one workspace, from the stored installation (or
 * one auth.test, for installations stored before they kept it) with many.
 */
import type { webApi } from '@slack/bolt';

/** The permalink of message `ts` in `channel`, in the workspace at `workspaceUrl`. */
export function messageLink(workspaceUrl: string, channel: string, ts: string): string {
  return new URL(`archives/${encodeURIComponent(channel)}/p${ts.replace('.', '')}`, workspaceUrl).toString();
}

export interface WorkspaceUrlOptions {
  /** One workspace (a bot token): its URL from the start-up auth.test, for every request. */
  readonly single?: string;
  /** Many workspaces: the URL an installation stored, when it did. */
  readonly stored?: (teamId: string) => Promise<string | undefined>;
}

/** Each workspace's URL, looked up once and kept (a failed lookup is tried again next time). */
export class WorkspaceUrls {
  private readonly known = new Map<string, Promise<string | undefined>>();
  private single: string | undefined;

  constructor(private readonly options: WorkspaceUrlOptions = {}) {
    this.single = options.single;
  }

  /** Sets the one workspace's URL (single-workspace mode, once auth.test has answered). */
  setSingle(url: string | undefined): void {
    this.single = url;
  }

  urlFor(teamId: string | undefined, client: webApi.WebClient): Promise<string | undefined> {
    if (this.single) return Promise.resolve(this.single);
    const key = teamId ?? '';
    let url = this.known.get(key);
    if (!url) {
      url = (async () =>
        (teamId ? await this.options.stored?.(teamId) : undefined) ??
        ((await client.auth.test()).url as string | undefined))().catch(() => undefined);
      this.known.set(key, url);
      void url.then((found) => {
        if (!found) this.known.delete(key);
      });
    }
    return url;
  }
}
