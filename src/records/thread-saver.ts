/**
 * "Save as knowledge" on a digest item: the thread where a human answered becomes knowledge.
 * The saving itself belongs to the knowledge feature; this is the interface the digest's
 * buttons call, and the stand-in used until a real saver is plugged into the composition.
 */
import { strings } from '../conversation/strings.js';
import type { Place } from '../core/types.js';

export interface ThreadToSave {
  /** The thread's id (Slack: the root message ts; Discord: the thread channel id). */
  readonly threadId: string;
  /** Who clicked, for the saver's permission check and its log. */
  readonly requestedBy: string;
}

export interface SaveOutcome {
  readonly saved: boolean;
  /** Shown privately to the person who clicked. */
  readonly message: string;
}

export interface ThreadSaver {
  save(place: Place, thread: ThreadToSave): Promise<SaveOutcome>;
}

/** Says, privately, that saving is not set up: a click never ends in silence. */
export const unconfiguredThreadSaver: ThreadSaver = {
  async save() {
    return { saved: false, message: strings.saveNotConfigured };
  },
};
