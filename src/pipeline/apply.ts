/**
 * The one applier of in-chat command changes (ARCHITECTURE.md "State"): commands hand back a changeset, this
 * applies it to the running proxy. Order: cool-down resets, then routes and global settings (saved before
 * they change anything here), then the session. A reset the store refuses or a change that cannot be saved
 * (SPEC §19) becomes the error of the reply and nothing of the changeset is applied after it.
 */
import { type Changeset, overridesDiffer, sharedChange } from "../commands/changeset.ts";
import type { Session, SessionStore } from "../sessions/store.ts";
import { SaveError, type SharedChange } from "../store/shared_state.ts";
import type { ResetResult } from "../store/key_states.ts";

/** What the applier changes (the pipeline's `ProxyContext` is one). */
export interface ApplyTarget {
  /** Save a route or global-setting change, then apply it here; rejects with a SaveError when not saved. */
  readonly applyChange: (change: SharedChange) => Promise<void>;
  /** Clear cool-downs and disabled keys of these backends, in the store (every instance) and here. */
  readonly resetCooldowns: (backends: string[]) => Promise<ResetResult[]>;
  readonly sessions: Pick<SessionStore, "save">;
}

/** Apply a changeset; on failure, the error to show after `Error: `. */
export async function applyChangeset(
  target: ApplyTarget,
  change: Changeset,
  session: Session,
): Promise<{ ok: true } | { ok: false; error: string }> {
  if (change.resetCooldowns) {
    try {
      await target.resetCooldowns([...change.resetCooldowns]);
    } catch (e) {
      return {
        ok: false,
        error: `the store could not be updated (${
          (e as Error).message
        }); cool-downs were not reset. Try again.`,
      };
    }
  }
  const shared = sharedChange(change);
  if (shared) {
    try {
      await target.applyChange(shared);
    } catch (e) {
      if (e instanceof SaveError) return { ok: false, error: e.message };
      throw e;
    }
  }
  const changed = overridesDiffer(session, change.session);
  Object.assign(session, change.session);
  if (changed) target.sessions.save(session);
  return { ok: true };
}
