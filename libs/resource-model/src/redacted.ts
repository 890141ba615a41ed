/**
 * What every read, revision and event shows in place of a secret field's value. Sending it back
 * unchanged in a PUT or PATCH keeps the stored value.
 */
export const REDACTED = '<redacted>';
