/**
 * directpath's default program. `pulumi up` (with `main: index.ts` in Pulumi.yaml) runs this file;
 * the resolved object becomes the stack outputs. The library itself is `components/index.ts`:
 * importing the `pulumi-directpath` package never runs this program.
 */
import { runDefaultProgram } from "./program/main";

export = runDefaultProgram();
