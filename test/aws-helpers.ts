/** Shared bits of the AWS tests (re-exports the harness plus a few AWS-specific helpers). */
import { installMocks } from "../plan/runtime";
import type { Recorder } from "./harness";

export { capture, expectProblems, resolve, runPlanCli, type Recorder } from "./harness";

/** Fresh mocks whose recorder must stay empty when a constructor rejects its args. */
export function installMocksForValidation(): Recorder {
    return installMocks({});
}
