/** Environment variables in tests, the same way on Deno (-A) and Bun. */
import process from "node:process";

/** The variable's value, or undefined when it is unset or empty. */
export function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}
