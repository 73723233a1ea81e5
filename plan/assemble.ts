/**
 * Turns what the mocks recorded for one stack into everything plan prints and writes: plan.json,
 * the manifest files and the summary. Pure over the recorded data; the CLI runs the program, the
 * tests call this on real rendered stacks.
 */
import type { FirewallRule } from "../components/common/firewall";
import { awsQuotaUses, type QuotaUse } from "./aws-quotas";
import { manifestFiles, planDocument, securityGroupRows, type FirewallRow, type ManifestFile, type ObjectView, type PlanDocument } from "./render";
import { manifestView, type RecordedResource } from "./runtime";
import { planSummary, type PlanSummary } from "./summary";

export interface AssembledPlan {
    doc: PlanDocument;
    manifests: ManifestFile[];
    sgRows: FirewallRow[];
    /** The `firewallRules` output: what components need opened. */
    required: FirewallRule[];
    summary: PlanSummary;
    /** AWS's default quotas the stack uses (empty without AWS resources). */
    awsQuotas: QuotaUse[];
    /** plan.json: the document plus the security-group table, the summary and the file list. */
    planJson: Record<string, unknown>;
}

export function assemblePlan(input: {
    project: string;
    stack: string;
    recorded: readonly RecordedResource[];
    outputs: Record<string, unknown>;
    secretConfigKeys: readonly string[];
    /** The out folder as the next-step lines show it. */
    outDir: string;
}): AssembledPlan {
    const doc = planDocument(input.project, input.stack, [...input.recorded], input.outputs);
    // Manifests keep each object's shape where a value is secret (placeholders, never the value).
    const views = new Map<string, ObjectView>(input.recorded.filter((r) => r.type.startsWith("kubernetes:")).map((r) => [r.urn, manifestView(r.rawInputs)]));
    const manifests = manifestFiles(doc.resources, views);
    const sgRows = securityGroupRows(doc.resources, input.recorded);
    const required = Array.isArray(input.outputs.firewallRules) ? (input.outputs.firewallRules as FirewallRule[]) : [];
    const summary = planSummary({
        stack: input.stack, outDir: input.outDir, resources: doc.resources, files: manifests, sgRows, firewallRules: required, secretConfigKeys: input.secretConfigKeys,
    });
    // plan.json also carries the security-group table (the rows plan prints): rule resources only
    // hold "[computed]" group IDs, and tools such as the network lab need to know which group a
    // rule belongs to and which group it references.
    const awsQuotas = awsQuotaUses(doc.resources, sgRows);
    const planJson = {
        ...doc,
        securityGroupRules: sgRows,
        ...(awsQuotas.length > 0 ? { awsQuotas } : {}),
        summary,
        files: manifests.map((m) => ({ path: `${m.dir}/${m.file}`, urn: m.urn, secretPaths: m.secretPaths, computedPaths: m.computedPaths })),
    };
    return { doc, manifests, sgRows, required, summary, awsQuotas, planJson };
}
