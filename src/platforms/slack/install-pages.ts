/**
 * The page a browser sees when an installation does not complete (OAuth mode): a short,
 * plain explanation and the way back, instead of Bolt's generic "Something went wrong".
 * Nothing from the request is echoed, so the page cannot be used to inject markup.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CodedError } from '@slack/bolt';

export const INSTALL_PATH = '/slack/install';
export const REDIRECT_PATH = '/slack/oauth_redirect';

interface FailurePage {
  readonly status: number;
  readonly title: string;
  readonly text: string;
}

function pageFor(error: CodedError): FailurePage {
  switch (error.code) {
    case 'slack_oauth_invalid_state':
    case 'slack_oauth_missing_state':
      return {
        status: 400,
        title: 'This installation link has expired',
        text: 'Installation links work once, for ten minutes, in the browser that opened them. Start again:',
      };
    case 'slack_oauth_missing_code':
      return {
        status: 400,
        title: 'Slack did not approve the installation',
        text: 'The page was opened without Slack’s approval. Start again:',
      };
    case 'slack_oauth_installer_authorization_error':
      return {
        status: 400,
        title: 'Installation cancelled',
        text: 'Nothing was installed. To install the app after all:',
      };
    default:
      return {
        status: 502,
        title: 'The installation could not be completed',
        text: 'Slack or this server had a problem finishing it; nothing was saved. Please try again in a moment:',
      };
  }
}

/** Bolt's `callbackOptions.failure`: answers the OAuth redirect with a clear page. */
export function installFailurePage(
  error: CodedError,
  _options: unknown,
  _req: IncomingMessage,
  res: ServerResponse,
): void {
  const page = pageFor(error);
  res.writeHead(page.status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${page.title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body><h1>${page.title}</h1><p>${page.text} <a href="${INSTALL_PATH}">install the app</a>.</p></body></html>
`);
}
