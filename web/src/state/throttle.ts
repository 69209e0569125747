// Refetches caused by live messages: hundreds of boxes report every few seconds, the page
// fetches at most once per `ms`, and the last request is always honoured.
export interface Throttled {
  run(): void;
  cancel(): void;
}

export function throttled(fn: () => Promise<void>, ms: number, onError: (e: unknown) => void): Throttled {
  let last = 0;
  let timer: number | null = null;
  let running = false;
  let again = false;
  let cancelled = false;
  const go = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch (e) {
      if (!cancelled) onError(e);
    } finally {
      running = false;
      if (again && !cancelled) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== null || cancelled) return;
    timer = window.setTimeout(go, Math.max(0, last + ms - Date.now()));
  };
  return {
    run: schedule,
    cancel: () => {
      cancelled = true;
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
    },
  };
}
