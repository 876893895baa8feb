/** The no-op task of a worker-mode drain: the isolates import it from here. */
import { defineTask } from "../mod.ts";
import { TASK } from "./raw/harness.ts";

export const noop = defineTask(TASK, (_payload: { i: number }) => {});
