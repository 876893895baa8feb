export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** The default logger: warnings and errors to the console, nothing else. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, data) => console.warn(`[stint] ${message}`, data ?? ""),
  error: (message, data) => console.error(`[stint] ${message}`, data ?? ""),
};
