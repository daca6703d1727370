/** The HTTP server shared by Slack events, the web chat and the health endpoints. */
import { defineSettings } from '../settings/area.js';
import { int } from '../settings/variables.js';

export interface HttpSlice {
  readonly http: { readonly port: number };
}

export const httpSettings = defineSettings({
  variables: {
    PORT: int(3000, 0, 65_535),
  },
  build: (env): HttpSlice => ({ http: { port: env.PORT } }),
});
