// The oldest Node.js the bot runs on (package.json's engines): node:sqlite, the local store,
// arrived in 22.13. Checked before anything else runs, so an older Node gets one sentence
// saying what to install instead of a missing built-in module deep inside a command.
export const MINIMUM = [22, 13];

/** The sentence to print when `version` (process.version) is too old, else undefined. */
export function unsupportedNode(version = process.version) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1])) return undefined;
  return (
    `rag-chat-bot needs Node.js ${MINIMUM.join('.')} or newer (22, 24 or 26); this is Node.js ${version}. ` +
    'Install a supported one, for example npm install --prefix ~/.node24 node@24 and put ' +
    '~/.node24/node_modules/node/bin first in PATH.\n'
  );
}

/** Ends the process with that sentence when this Node is too old. */
export function requireSupportedNode() {
  const problem = unsupportedNode();
  if (problem) {
    process.stderr.write(problem);
    process.exit(1);
  }
}
