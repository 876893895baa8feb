/** The no-op tasks of a worker-mode drain: the isolates import them from here. */
import { defineTask } from "../mod.ts";
import { TASK } from "./raw/harness.ts";

export const noop = defineTask(TASK, (_payload: { i: number }) => {});

/** The multi-step drain's task (stint_side.ts STEPS_TASK): three no-op steps. */
export const steps = defineTask("bench_steps", [() => {}, () => {}, () => {}]);
