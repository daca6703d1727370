/**
 * The fake Slack's OAuth v2 side, for apps installed in any workspace: the authorize page
 * (`GET /oauth/v2/authorize`, where a user approves the scopes for a workspace and is sent
 * back to the app's redirect URL with a one-time code and the app's state), the code
 * exchange (`oauth.v2.access`, client id and secret in the form or as Basic auth) minting a
 * bot token per workspace, and revocation. The Web API side asks `identity(token)` which
 * workspace and bot a token belongs to.
 */
import { randomBytes } from 'node:crypto';

export interface FakeWorkspace {
  readonly teamId: string;
  readonly teamName: string;
  readonly botUserId: string;
  readonly botId: string;
}

export interface FakeOAuthOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Workspaces a user can install the app into. */
  readonly workspaces: readonly FakeWorkspace[];
  readonly appId?: string;
}

export interface AuthorizeRequest {
  readonly clientId: string | null;
  readonly scopes: string[];
  readonly state: string | null;
  readonly redirectUri: string | null;
}

type Reply = Record<string, unknown> & { ok: boolean };

export class FakeOAuth {
  /** Every visit to the authorize page, for assertions. */
  readonly authorizeRequests: AuthorizeRequest[] = [];
  /** Where Slack sends the browser back when the app's URL carries no redirect_uri (the manifest's). */
  redirectUrl = '';
  private approving: string;
  private readonly codes = new Map<string, { teamId: string; scopes: string[] }>();
  private readonly tokens = new Map<string, FakeWorkspace>();
  private readonly byTeam = new Map<string, string>();

  constructor(private readonly options: FakeOAuthOptions) {
    this.approving = options.workspaces[0]?.teamId ?? '';
  }

  /** The workspace the next visitor of the authorize page picks in Slack's workspace menu. */
  approveAs(teamId: string): void {
    this.approving = teamId;
  }

  /** The page a user sees at Slack: approving sends them back with a code and the state. */
  authorize(query: URLSearchParams): { status: number; location?: string; body?: string } {
    const request: AuthorizeRequest = {
      clientId: query.get('client_id'),
      scopes: (query.get('scope') ?? '').split(',').filter(Boolean),
      state: query.get('state'),
      redirectUri: query.get('redirect_uri'),
    };
    this.authorizeRequests.push(request);
    if (request.clientId !== this.options.clientId) return { status: 400, body: 'invalid_client_id' };
    const target = request.redirectUri ?? this.redirectUrl;
    if (!target) return { status: 400, body: 'bad_redirect_uri' };
    const code = `code-${randomBytes(8).toString('hex')}`;
    this.codes.set(code, { teamId: query.get('team') ?? this.approving, scopes: request.scopes });
    const location = new URL(target);
    location.searchParams.set('code', code);
    if (request.state) location.searchParams.set('state', request.state);
    return { status: 302, location: location.toString() };
  }

  /** `oauth.v2.access`: a one-time code for the workspace's bot token. */
  exchange(args: Record<string, unknown>, authorization: string | undefined): Reply {
    const basic = authorization?.startsWith('Basic ')
      ? Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':')
      : [];
    const clientId = String(args.client_id ?? basic[0] ?? '');
    const clientSecret = String(args.client_secret ?? basic[1] ?? '');
    if (clientId !== this.options.clientId) return { ok: false, error: 'invalid_client_id' };
    if (clientSecret !== this.options.clientSecret) return { ok: false, error: 'bad_client_secret' };
    const grant = this.codes.get(String(args.code ?? ''));
    if (!grant) return { ok: false, error: 'invalid_code' };
    this.codes.delete(String(args.code));
    const workspace = this.options.workspaces.find((w) => w.teamId === grant.teamId);
    if (!workspace) return { ok: false, error: 'invalid_team' };
    let token = this.byTeam.get(workspace.teamId);
    if (!token) {
      token = `xoxb-${workspace.teamId}-${randomBytes(12).toString('hex')}`;
      this.byTeam.set(workspace.teamId, token);
      this.tokens.set(token, workspace);
    }
    return {
      ok: true,
      app_id: this.options.appId ?? 'A0001',
      authed_user: { id: 'UINSTALLER' },
      scope: grant.scopes.join(','),
      token_type: 'bot',
      access_token: token,
      bot_user_id: workspace.botUserId,
      team: { id: workspace.teamId, name: workspace.teamName },
      enterprise: null,
      is_enterprise_install: false,
    };
  }

  /** The workspace a bot token was issued for, while it is valid. */
  identity(token: string): FakeWorkspace | undefined {
    return this.tokens.get(token);
  }

  /** The bot token issued to a workspace, if installed. */
  tokenOf(teamId: string): string | undefined {
    return this.byTeam.get(teamId);
  }

  /** The workspace uninstalled the app or revoked its token: the token stops working. */
  revoke(teamId: string): void {
    const token = this.byTeam.get(teamId);
    if (token) this.tokens.delete(token);
    this.byTeam.delete(teamId);
  }
}
