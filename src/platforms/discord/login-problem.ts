/** Why logging in to Discord failed, in terms of what to fix (one process or the sharding manager). */
import { StartupError } from '../../startup-error.js';

/** Explains a failed login in terms of what to fix. */
export function loginProblem(error: unknown, apiURL: string | undefined): StartupError {
  const message = (error as Error).message ?? String(error);
  if (
    /TokenInvalid|invalid token|401|Authentication failed/i.test(message) ||
    (error as { code?: string }).code === 'TokenInvalid'
  ) {
    return new StartupError(
      'Discord rejected DISCORD_TOKEN: reset the bot token in the Developer Portal (Bot → Reset Token).',
      { cause: error },
    );
  }
  if (/disallowed intent|4014/i.test(message)) {
    return new StartupError(
      'Discord refused the Message Content intent: enable it under Developer Portal → Bot → Privileged Gateway Intents.',
      { cause: error },
    );
  }
  return new StartupError(
    `Cannot connect to Discord (${message}): check this machine's network and proxy${apiURL ? ', and DISCORD_API_URL' : ''}.`,
    { cause: error },
  );
}
