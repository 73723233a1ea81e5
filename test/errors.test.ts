/**
 * ValidationError is a pulumi.InputPropertiesError: the full message (subject, count, every
 * problem with path, value and rule) stays as it was, and `errors` lists the same problems as
 * `{ propertyPath, reason }`, the form the Pulumi engine prints per property.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { PublicVpc } from "../components/aws";
import { propertyProblem, ValidationError, type Problem } from "../components/common/errors";
import { installMocksForValidation } from "./aws-helpers";

const problems: Problem[] = [
    { path: "cidrBlock", value: "8.8.0.0/16", rule: "must be a private range" },
    { path: "nodeGroups[0].minSize", value: 5, rule: "must be <= maxSize (3)" },
    { path: "tags", value: undefined, rule: "is required" },
];

describe("ValidationError", () => {
    it("keeps the full message: subject, count, one line per problem with path, value and rule", () => {
        const e = new ValidationError("PublicVpc args", problems);
        expect(e.message).toBe([
            "PublicVpc args: 3 invalid inputs:",
            '  - cidrBlock: "8.8.0.0/16" is invalid: must be a private range',
            "  - nodeGroups[0].minSize: 5 is invalid: must be <= maxSize (3)",
            "  - tags: (missing) is invalid: is required",
        ].join("\n"));
        expect(e.name).toBe("ValidationError");
        expect(e.problems).toEqual(problems);
        expect(new ValidationError("X", [problems[1]!]).message).toBe("X: 1 invalid input:\n  - nodeGroups[0].minSize: 5 is invalid: must be <= maxSize (3)");
    });

    // A component provider's construct (provider/server.js) checks exactly this: isInstance, then
    // sends `message` and `errors` to the engine as InputPropertiesError details.
    it("is a pulumi.InputPropertiesError whose errors list every problem as { propertyPath, reason }", () => {
        const e = new ValidationError("PublicVpc args", problems);
        expect(e).toBeInstanceOf(pulumi.InputPropertiesError);
        expect(e).toBeInstanceOf(Error);
        expect(pulumi.InputPropertiesError.isInstance(e)).toBe(true);
        expect(e.errors).toEqual([
            { propertyPath: "cidrBlock", reason: '"8.8.0.0/16" is invalid: must be a private range' },
            { propertyPath: "nodeGroups[0].minSize", reason: "5 is invalid: must be <= maxSize (3)" },
            { propertyPath: "tags", reason: "(missing) is invalid: is required" },
        ]);
        expect(propertyProblem(problems[0]!)).toEqual(e.errors[0]);
    });

    it("a component's bad args throw it, with the per-property list matching the problems", () => {
        const r = installMocksForValidation();
        let caught: unknown;
        try {
            new PublicVpc("bad", { cidrBlock: "8.8.0.0/16", availabilityZoneCount: 9 });
        } catch (e) {
            caught = e;
        }
        expect(pulumi.InputPropertiesError.isInstance(caught)).toBe(true);
        const e = caught as ValidationError;
        expect(e.errors.map((x) => x.propertyPath).sort()).toEqual(["availabilityZoneCount", "cidrBlock"]);
        expect(e.errors.find((x) => x.propertyPath === "availabilityZoneCount")!.reason).toBe("9 is invalid: must be 1-6");
        expect(e.message).toMatch(/^PublicVpc args: 2 invalid inputs:\n/);
        expect(r.resources).toEqual([]);
    });
});
