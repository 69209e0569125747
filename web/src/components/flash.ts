// Restarts the "just changed" highlight on an element whenever `seq` changes (0: never flash).
import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';

export function useFlash(ref: RefObject<HTMLElement | null>, seq: number): void {
  useEffect(() => {
    const node = ref.current;
    if (!node || seq === 0) return;
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
  }, [seq]);
}
