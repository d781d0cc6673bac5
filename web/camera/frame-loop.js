// Sends camera frames at a steady rate with at most one request in flight: the next frame is taken
// only after the previous answer arrived, and no sooner than `intervalMs` after the previous one.

/**
 * @param {{ video: HTMLVideoElement, intervalMs: number, maxWidth?: number, quality?: number,
 *           onFrame: (blob: Blob) => Promise<boolean> }} opts  onFrame returns false to stop the loop.
 * @example const loop = createFrameLoop({ video, intervalMs: 150, onFrame: send }); loop.start();
 */
export function createFrameLoop(opts) {
  const canvas = document.createElement('canvas');
  const ctx2d = canvas.getContext('2d');
  let running = false;
  let timer = null;
  let sent = 0;

  function grab() {
    const v = opts.video;
    const w = v.videoWidth;
    const h = v.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const scale = Math.min(1, (opts.maxWidth ?? 640) / w);
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    // Not mirrored: the server sees the camera's real image (the preview is mirrored in CSS only).
    ctx2d.drawImage(v, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', opts.quality ?? 0.85));
  }

  async function tick() {
    if (!running) return;
    const started = performance.now();
    let keepGoing = true;
    const blob = await grab();
    if (blob && running) {
      sent += 1;
      keepGoing = await opts.onFrame(blob);
    }
    if (!running) return;
    if (!keepGoing) {
      running = false;
      return;
    }
    timer = setTimeout(tick, Math.max(0, opts.intervalMs - (performance.now() - started)));
  }

  return {
    start() {
      if (running) return;
      running = true;
      sent = 0;
      void tick();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    get running() {
      return running;
    },
    get sent() {
      return sent;
    },
  };
}
