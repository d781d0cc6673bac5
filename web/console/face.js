// One-shot verification (1:1) and identification (1:N) with an uploaded photo.
import { api } from '/app/assets/api.js';
import { $, busy, el, pct } from '/app/assets/dom.js';
import { renderDecision } from '/app/assets/decision.js';
import { facePhoto } from '/app/assets/face-photo.js';
import { t } from '/app/assets/i18n.js';

/** The decision, and above it the photo with the face it was taken on. */
function showDecision(out, r, file) {
  renderDecision(out, r);
  if (r.face) out.prepend(facePhoto(file, [{ box: r.face.box }], r.face, { caption: t('The face the decision was taken on') }));
}

export function initFace(ctx) {
  $('#verify-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const out = form.querySelector('.face-result');
    out.replaceChildren();
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const fd = new FormData();
      fd.append('user_id', form.user_id.value.trim());
      fd.append('image', form.image.files[0]);
      if (form.confidence_threshold.value) fd.append('confidence_threshold', form.confidence_threshold.value);
      showDecision(out, await api('/auth/authentication/verify/', { auth: ctx.auth(), form: fd }), form.image.files[0]);
    });
  });

  $('#identify-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const out = form.querySelector('.face-result');
    out.replaceChildren();
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const fd = new FormData();
      fd.append('image', form.image.files[0]);
      if (form.search_threshold.value) fd.append('search_threshold', form.search_threshold.value);
      if (form.max_results.value) fd.append('max_results', form.max_results.value);
      showDecision(out, await api('/auth/authentication/identify/', { auth: ctx.auth(), form: fd }), form.image.files[0]);
    });
  });

  $('#compare-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const out = form.querySelector('.face-result');
    out.replaceChildren();
    void busy(form.querySelector('button'), form.querySelector('.alert'), async () => {
      const [a, b] = [form.image_a.files[0], form.image_b.files[0]];
      const fd = new FormData();
      fd.append('image_a', a);
      fd.append('image_b', b);
      const r = await api('/auth/authentication/compare/', { auth: ctx.auth(), form: fd });
      out.replaceChildren(
        el('div', { class: 'compare-photos' }, facePhoto(a, [{ box: r.faces[0].box }], r.faces[0]), facePhoto(b, [{ box: r.faces[1].box }], r.faces[1])),
        el(
          'div',
          { class: `card result ${r.same_person ? 'ok' : 'bad'}`, dataset: { same: String(r.same_person) } },
          el('div', { class: 'headline', text: r.same_person ? t('Same person') : t('Different people') }),
          el('dl', { class: 'kv' }, el('dt', { text: t('Confidence') }), el('dd', { text: pct(r.confidence) }), el('dt', { text: t('Threshold') }), el('dd', { text: pct(r.threshold) })),
        ),
      );
    });
  });

  return { show: async () => {} };
}
