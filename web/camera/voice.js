// Voice guidance with the Web Speech API. Guidance changes with every frame, so speech is throttled:
// one utterance at most every MIN_GAP_MS, and the same sentence not again within REPEAT_MS.

const MIN_GAP_MS = 2500;
const REPEAT_MS = 6000;

/**
 * @param {{ enabled: () => boolean, now?: () => number, lang?: string }} opts  lang: BCP 47 tag of the voice (id-ID, en-US)
 * @example const v = createVoice({ enabled: () => toggle.on }); v.say('Please blink.');
 */
export function createVoice(opts) {
  const now = opts.now ?? (() => Date.now());
  const synth = typeof window !== 'undefined' ? window.speechSynthesis : undefined;
  let lastAt = -Infinity;
  const lastSaid = new Map(); // text -> time

  function speak(text) {
    if (!synth || typeof SpeechSynthesisUtterance === 'undefined') return false;
    const u = new SpeechSynthesisUtterance(text);
    u.lang = opts.lang ?? document.documentElement.lang ?? 'en';
    u.rate = 1;
    synth.speak(u);
    return true;
  }

  return {
    supported: Boolean(synth),
    /** Speaks guidance unless it would repeat too soon. `urgent` (final results) cancels what is queued. */
    say(text, { urgent = false } = {}) {
      if (!text || !opts.enabled()) return false;
      const t = now();
      if (!urgent) {
        if (t - lastAt < MIN_GAP_MS) return false;
        if (t - (lastSaid.get(text) ?? -Infinity) < REPEAT_MS) return false;
      } else {
        synth?.cancel();
      }
      lastAt = t;
      lastSaid.set(text, t);
      return speak(text);
    },
    stop() {
      synth?.cancel();
    },
  };
}
