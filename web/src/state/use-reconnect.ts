// After a gap in the live stream, messages were lost: a page fetches its data again.
import { useEffect, useRef } from 'preact/hooks';
import { reconnects } from './live.js';
import { handleError } from './session.js';

export function useRefetchOnReconnect(refresh: () => Promise<void>): void {
  const gaps = reconnects.value;
  const atMount = useRef(gaps);
  useEffect(() => {
    if (gaps !== atMount.current) void refresh().catch(handleError);
  }, [gaps]);
}
