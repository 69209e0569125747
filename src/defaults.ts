// Defaults that more than one part of devstatus relies on, written once.

/**
 * Memory (bytes) for remembering each box's last report so that a byte-for-byte repeat costs
 * almost nothing: the receiver's RepeatCache (body and parsed report) and the SQLite store's
 * known-box memory (the body its rows already say) each default to this much.
 */
export const REPEAT_MEMORY_BYTES = 64 * 1024 * 1024;
