/**
 * What the Git reader process may ask the bot to fetch: it runs a Git client on whatever the
 * server sent, so its requests are checked like untrusted input, and the repository's token
 * goes only with a fetch of that repository.
 */
import { describe, expect, it } from 'vitest';
import { readerRequest } from '../../src/knowledge/kinds/git-process.js';

const CLONE = 'https://git.example.com/acme/handbook.git';

describe("the Git reader's requests", () => {
  it('carry the token only for fetching this repository', () => {
    expect(
      readerRequest({ url: `${CLONE}/info/refs?service=git-upload-pack`, method: 'GET', headers: {} }, CLONE)
        .forRepository,
    ).toBe(true);
    expect(
      readerRequest({ url: `${CLONE}/git-upload-pack`, method: 'POST', headers: {} }, CLONE).forRepository,
    ).toBe(true);
    for (const url of [
      'https://git.example.com/acme/other.git/git-upload-pack',
      'https://evil.example/acme/handbook.git/git-upload-pack',
      'https://user:pass@git.example.com/acme/handbook.git/git-upload-pack',
      'http://git.example.com/acme/handbook.git/git-upload-pack',
      'https://git.example.com:8443/acme/handbook.git/git-upload-pack',
    ]) {
      expect(readerRequest({ url, method: 'POST', headers: {} }, CLONE).forRepository).toBe(false);
    }
  });

  it('refuse anything but a fetch: a push, another method, a malformed URL, another scheme', () => {
    for (const request of [
      { url: `${CLONE}/git-receive-pack`, method: 'POST' },
      { url: `${CLONE}/info/refs?service=git-receive-pack`, method: 'GET' },
      { url: `${CLONE}/info/refs?service=git-upload-pack`, method: 'DELETE' },
      { url: 'not a url', method: 'GET' },
      { url: 'file:///etc/passwd/info/refs?service=git-upload-pack', method: 'GET' },
      { url: 42, method: 'GET' },
    ]) {
      expect(() => readerRequest({ ...request, headers: {} }, CLONE)).toThrow(/Git reader asked for/);
    }
  });

  it('drop credentials the reader set itself', () => {
    const asked = readerRequest(
      {
        url: `${CLONE}/git-upload-pack`,
        method: 'POST',
        headers: {
          Authorization: 'Basic forged',
          'content-type': 'application/x-git-upload-pack-request',
          x: 1,
        },
      },
      CLONE,
    );
    expect(asked.headers).toEqual({ 'content-type': 'application/x-git-upload-pack-request' });
  });
});
