// Liveness and capture coaching on the camera page: one stable instruction at a time, a countdown for
// the current challenge, and a time-out when no face is seen. Pure timing logic, no DOM: main.js
// renders what it decides.

/** A new instruction must be proposed this long without interruption before it replaces the shown one. */
export const STABLE_MS = 1200;
/** With no face in view for this long, the run stops with help instead of looping forever. */
export const NO_FACE_TIMEOUT_MS = 8000;

/**
 * Keeps the shown instruction steady: frame-by-frame proposals flicker ("Blink", "Turn less", "No
 * face"…); a proposal wins only after STABLE_MS of being proposed every frame, or at once when urgent
 * (a new challenge, the start, the result). A `soft` line (a status such as "Starting the camera…")
 * gives way to the first frame's instruction at once.
 * @param {{ show: (key: string, text: string, urgent: boolean) => void, now?: () => number }} opts
 * @example const c = createCoach({ show: (k, text) => (line.textContent = text) }); c.propose('blink', 'Blink slowly.');
 */
export function createCoach(opts) {
  const now = opts.now ?? (() => performance.now());
  let shownKey = null;
  let candidate = null; // { key, text, since }
  let soft = false;
  return {
    propose(key, text, { urgent = false, soft: isSoft = false } = {}) {
      if (!text) return;
      if (urgent || shownKey === null || (soft && key !== shownKey)) {
        candidate = null;
        if (key !== shownKey || urgent) opts.show(key, text, urgent);
        shownKey = key;
        soft = isSoft;
        return;
      }
      if (key === shownKey) {
        candidate = null;
        return;
      }
      if (!candidate || candidate.key !== key) candidate = { key, text, since: now() };
      if (now() - candidate.since >= STABLE_MS) {
        shownKey = key;
        candidate = null;
        opts.show(key, text, false);
      }
    },
    reset() {
      shownKey = null;
      candidate = null;
      soft = false;
    },
    get key() {
      return shownKey;
    },
  };
}

/**
 * Counts down to a challenge's deadline. `expiresAt` is the server's ISO time; `serverNow` the
 * server's timestamp of the same answer, so the local clock's offset does not matter.
 * @param {(secondsLeft: number|null, fraction: number) => void} render
 */
export function createCountdown(render) {
  let deadline = null;
  let total = 1;
  let key = null;
  let timer = null;
  const tick = () => {
    if (deadline === null) return render(null, 0);
    const left = Math.max(0, deadline - Date.now());
    render(Math.ceil(left / 1000), left / total);
  };
  return {
    /** Sets the deadline of challenge `challenge` (restarts the count when the challenge changes). */
    set(challenge, expiresAt, serverNow) {
      if (!challenge || !expiresAt) {
        deadline = null;
        key = null;
        tick();
        return;
      }
      const left = Date.parse(expiresAt) - (serverNow ? Date.parse(serverNow) : Date.now());
      if (challenge !== key) total = Math.max(1000, left);
      key = challenge;
      deadline = Date.now() + left;
      timer ??= setInterval(tick, 250);
      tick();
    },
    stop() {
      clearInterval(timer);
      timer = null;
      deadline = null;
      key = null;
      render(null, 0);
    },
  };
}

/** Tracks how long no face has been seen; `seen(false)` returns true once the time-out is reached. */
export function createNoFaceWatch(limitMs = NO_FACE_TIMEOUT_MS) {
  let since = null;
  return {
    seen(face) {
      if (face) {
        since = null;
        return false;
      }
      since ??= Date.now();
      return Date.now() - since >= limitMs;
    },
    reset() {
      since = null;
    },
  };
}
