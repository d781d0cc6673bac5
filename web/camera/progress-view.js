// The camera page's progress, in the panel and on the preview: suggestion chips, the quality meter,
// enrollment frames and angles, the liveness challenge with its countdown, challenges and attempts
// remaining, and the face guide's ring (challenges met of those issued, frames captured of those needed).
import { $, $$, el } from '/app/assets/dom.js';
import { t, tn } from '/app/assets/i18n.js';
import { chip } from '/app/assets/messages.js';
import { createCountdown } from './coach.js';

/**
 * @param {{ faceGuide: ReturnType<import('./face-guide.js').createFaceGuide>, onChallenge: (challenge: string) => void }} opts
 *   onChallenge: a new liveness challenge was issued (the page makes it the instruction).
 * @example const view = createProgressView({ faceGuide, onChallenge: (c) => say(c) }); view.showLiveness(r.liveness, r.timestamp);
 */
export function createProgressView({ faceGuide, onChallenge }) {
  const countdown = createCountdown((secs, fraction) => {
    $('#countdown').textContent = secs === null ? '—' : tn(secs, '{n} second', '{n} seconds');
    const bar = $('#challenge-time');
    bar.value = secs === null ? 0 : fraction;
    bar.hidden = secs === null;
    faceGuide.time(secs === null ? null : fraction);
  });
  let challengeKey = null;
  /** Challenges issued in this session (those met plus those left, as first seen). */
  let challengesIssued = 0;

  return {
    countdown,
    showSuggestions(list) {
      $('#suggestions').replaceChildren(...(list ?? []).map(chip).filter(Boolean).map((text) => el('span', { class: 'chip', text })));
    },
    showQuality(q) {
      $('#quality').value = typeof q === 'number' ? q : 0;
      $('#quality-text').textContent = typeof q === 'number' ? (q >= 0.6 ? t('good') : q >= 0.45 ? t('fair') : t('poor')) : '—';
    },
    showEnrollProgress(p) {
      if (!p) return;
      const bar = $('#enroll-progress');
      bar.max = Math.max(1, p.required);
      bar.value = Math.min(p.current, p.required);
      $('#enroll-progress-text').textContent = `${p.current} / ${p.required}`;
      faceGuide.progress(Math.min(p.current, p.required), p.required);
      const got = new Set(p.angles_captured ?? []);
      for (const s of $$('#angles span')) s.classList.toggle('done', got.has(s.dataset.angle));
    },
    /** The session's liveness progress (null: none); `serverNow` is the answer's timestamp. */
    showLiveness(l, serverNow) {
      const c = l?.current_challenge ?? null;
      if (l) {
        const met = l.challenges_completed?.length ?? 0;
        challengesIssued = Math.max(challengesIssued, met + (l.challenges_remaining ?? 0));
        faceGuide.progress(met, challengesIssued);
      }
      $('#challenge').textContent = !l ? '—' : c ? chip(c) : t('Done');
      $('#challenges-remaining').textContent = l ? String(l.challenges_remaining ?? '—') : '—';
      countdown.set(c, l?.challenge_expires_at, serverNow);
      if (c && c !== challengeKey) onChallenge(c);
      challengeKey = c;
    },
    /** A decision carries the challenges met instead of the progress: the ring shows them to the end. */
    showChallengesMet(n) {
      faceGuide.progress(n, challengesIssued);
    },
    showAttempts(n) {
      $('#attempts-remaining').textContent = n === undefined || n === null ? '—' : String(n);
    },
    reset() {
      challengeKey = null;
      challengesIssued = 0;
    },
  };
}
