// One-shot verification (1:1) and identification (1:N) with an uploaded photo.
import { api } from '/app/assets/api.js';
import { $, busy } from '/app/assets/dom.js';
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

  return { show: async () => {} };
}
