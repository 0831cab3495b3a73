import type { AuditEvent } from "../audit/events.js";
import { AUDIT_LOG_KIND, auditLogRecord } from "./log-records.js";
import { payloadText } from "./records.js";

/**
 * The JSON decision-log payload of audit event `event` at position `seq` (the format logs held
 * before binary audit records; `writer.appendEncoded(auditPayloadText, event)`), made in one pass: the same
 * bytes as `payloadText(seq, auditLogRecord(event))`, without the tagged deep copy that
 * `auditLogRecord` makes. Only an event holding NaN, ±Infinity or −0 (rare: they need the
 * `{ "$num": … }` tags) takes the copying path.
 */
export function auditPayloadText(seq: number, event: AuditEvent): string {
  if (needsTags(event)) return payloadText(seq, auditLogRecord(event));
  return `{"seq":${seq},"kind":"${AUDIT_LOG_KIND}","event":${JSON.stringify(event)}}`;
}

/** Whether a number inside `value` (or one level of nested objects and arrays) has no exact JSON form. */
function needsTags(value: object): boolean {
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    const item = fields[key];
    if (typeof item === "number") {
      if (!isPlainJsonNumber(item)) return true;
    } else if (typeof item === "object" && item !== null && needsTags(item)) {
      return true;
    }
  }
  return false;
}

/** Finite and not −0: `JSON.stringify` writes it back bit for bit. */
function isPlainJsonNumber(x: number): boolean {
  return x - x === 0 && (x !== 0 || 1 / x > 0);
}
