/** `directpath:aws`: the AWS environment (VPC, security groups, EKS). */
import { z } from "zod";

// Placeholder until the AWS components land.
export const awsSectionSchema = z.strictObject({});

export type AwsSection = z.output<typeof awsSectionSchema>;
