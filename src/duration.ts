// parseDuration in validate.ts reads it.
/** Milliseconds, or a string with a unit: "500ms", "30s", "5m", "2h", "7d". */
export type Duration = number | string;
