/** Files attached to questions: read for that answer only, never stored. */
import { defineSettings } from '../settings/area.js';
import { int } from '../settings/variables.js';

export interface AttachmentSlice {
  /** Files attached to questions: read for that answer only, never stored. */
  readonly attachments: { readonly maxFileMB: number; readonly maxTokens: number };
}

export const attachmentSettings = defineSettings({
  variables: {
    /** Largest file attached to a question that is read, in megabytes. */
    ATTACHMENT_MAX_MB: int(5, 1, 100),
    /** Tokens all files attached to one question may use in the prompt (at most half of RAG_CONTEXT_TOKENS). */
    ATTACHMENT_MAX_TOKENS: int(3_000, 100, 60_000),
  },
  build: (env): AttachmentSlice => ({
    attachments: { maxFileMB: env.ATTACHMENT_MAX_MB, maxTokens: env.ATTACHMENT_MAX_TOKENS },
  }),
});
