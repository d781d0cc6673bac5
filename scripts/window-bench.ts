// `node scripts/window-bench.ts [--rates=200,1000,3000]`: the cost of recording one event in the sliding
// window behind the wrong-credential counters (SecurityMonitor per address and key, AdminTokenGuard), with
// one address flooding at each rate for 90 s (the window is 60 s), without Redis. Prints numbers; asserts
// nothing. Each failed request records one or more events, so the cost must not grow with the flood.
import { SlidingWindow } from '../src/services/sliding-window.ts';

const rates = (process.argv.find((a) => a.startsWith('--rates='))?.split('=')[1] ?? '200,1000,3000').split(',').map(Number);
const window = new SlidingWindow({ redis: null, prefix: 'bench:', windowMs: 60_000 });
for (const rate of rates) {
  const total = rate * 90;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) await window.add(`ip-${rate}`, 1_000_000 + (i * 1000) / rate);
  const ms = performance.now() - t0;
  console.log(`${rate} events/s for 90 s: ${((ms * 1000) / total).toFixed(1)} µs per event, ${(ms / 90 / 10).toFixed(1)} % of one core at that rate`);
}
