import { describe, expect, it } from "vitest";
import { defaultSubnetPrefix, ipv4SubnetCidr, ipv6SubnetCidr, isPrivateIpv4Cidr, pickZones, planSubnets, PublicVpc, validatePublicVpcArgs } from "../components/aws";
import { capture, expectProblems, installMocksForValidation } from "./aws-helpers";

const VPC_V6 = "2600:1f18:abcd:ef00::/56";
const withIpv6 = { extraState: (a: { type: string }) => (a.type === "aws:ec2/vpc:Vpc" ? { ipv6CidrBlock: VPC_V6 } : undefined) };

describe("PublicVpc address plan (pure)", () => {
    it("cuts the VPC into equal IPv4 blocks", () => {
        expect(ipv4SubnetCidr("10.0.0.0/16", 18, 0)).toBe("10.0.0.0/18");
        expect(ipv4SubnetCidr("10.0.0.0/16", 18, 3)).toBe("10.0.192.0/18");
        expect(ipv4SubnetCidr("192.168.4.0/24", 28, 15)).toBe("192.168.4.240/28");
        expect(() => ipv4SubnetCidr("10.0.0.0/16", 18, 4)).toThrow(/holds 4 subnets/);
        expect(defaultSubnetPrefix(16, 3)).toBe(19);
        expect(defaultSubnetPrefix(16, 2)).toBe(18);
        expect(defaultSubnetPrefix(24, 6)).toBe(28);
        expect(planSubnets(validatePublicVpcArgs({ cidrBlock: "10.20.0.0/16", availabilityZoneCount: 3 })).map((s) => s.cidrBlock))
            .toEqual(["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"]);
    });

    it("numbers the /64s inside the Amazon-provided /56", () => {
        expect(ipv6SubnetCidr(VPC_V6, 0)).toBe("2600:1f18:abcd:ef00::/64");
        expect(ipv6SubnetCidr(VPC_V6, 2)).toBe("2600:1f18:abcd:ef02::/64");
        expect(ipv6SubnetCidr(VPC_V6, 255)).toBe("2600:1f18:abcd:efff::/64");
        expect(() => ipv6SubnetCidr("2600:1f18::/48", 0)).toThrow(/\/56/);
    });

    it("knows the RFC 1918 ranges", () => {
        expect(isPrivateIpv4Cidr("10.0.0.0/16")).toBe(true);
        expect(isPrivateIpv4Cidr("172.31.0.0/16")).toBe(true);
        expect(isPrivateIpv4Cidr("192.168.0.0/16")).toBe(true);
        expect(isPrivateIpv4Cidr("172.32.0.0/16")).toBe(false);
        expect(isPrivateIpv4Cidr("8.0.0.0/16")).toBe(false);
        expect(isPrivateIpv4Cidr("10.0.0.0/7")).toBe(false);
    });
});

describe("PublicVpc", () => {
    it("builds public subnets with public IPs, an internet gateway route and no NAT gateway (IPv4 only)", async () => {
        const { r, value } = await capture(() => new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2, clusterName: "dev" }), {
            config: { "aws:region": "eu-central-1" },
        });
        const vpc = r.inputs(r.get("aws:ec2/vpc:Vpc", "dev-vpc"));
        expect(vpc).toMatchObject({ cidrBlock: "10.10.0.0/16", enableDnsSupport: true, enableDnsHostnames: true });
        expect(vpc.assignGeneratedIpv6CidrBlock).toBeUndefined();
        const subnets = r.ofType("aws:ec2/subnet:Subnet").map((s) => r.inputs(s));
        expect(subnets.map((s) => [s.cidrBlock, s.availabilityZone, s.mapPublicIpOnLaunch, s.ipv6CidrBlock])).toEqual([
            ["10.10.0.0/18", "eu-central-1a", true, undefined],
            ["10.10.64.0/18", "eu-central-1b", true, undefined],
        ]);
        expect(subnets[0]!.tags).toMatchObject({ "kubernetes.io/role/elb": "1", "kubernetes.io/cluster/dev": "shared" });
        const routes = r.ofType("aws:ec2/route:Route").map((x) => r.inputs(x));
        expect(routes).toEqual([{ routeTableId: "dev-public-id", destinationCidrBlock: "0.0.0.0/0", gatewayId: "dev-igw-id" }]);
        expect(r.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation").map((x) => r.inputs(x).subnetId)).toEqual(["dev-public-0-id", "dev-public-1-id"]);
        expect(r.ofType("aws:ec2/natGateway:NatGateway")).toEqual([]);
        expect(r.resources.some((x) => /nat/i.test(x.type))).toBe(false);
        expect(await Promise.all(value.availabilityZones.map((z) => new Promise((res) => z.apply(res))))).toEqual(["eu-central-1a", "eu-central-1b"]);
    });

    it("dual stack: Amazon /56, a /64 per subnet assigned on launch, and a ::/0 route", async () => {
        const { r } = await capture(() => new PublicVpc("prod", { cidrBlock: "10.20.0.0/16", availabilityZoneCount: 3, ipv6: true }), withIpv6);
        expect(r.inputs(r.get("aws:ec2/vpc:Vpc", "prod-vpc")).assignGeneratedIpv6CidrBlock).toBe(true);
        const subnets = r.ofType("aws:ec2/subnet:Subnet").map((s) => r.inputs(s));
        expect(subnets.map((s) => [s.cidrBlock, s.ipv6CidrBlock, s.assignIpv6AddressOnCreation, s.mapPublicIpOnLaunch])).toEqual([
            ["10.20.0.0/19", "2600:1f18:abcd:ef00::/64", true, true],
            ["10.20.32.0/19", "2600:1f18:abcd:ef01::/64", true, true],
            ["10.20.64.0/19", "2600:1f18:abcd:ef02::/64", true, true],
        ]);
        const routes = r.ofType("aws:ec2/route:Route").map((x) => r.inputs(x));
        expect(routes).toContainEqual({ routeTableId: "prod-public-id", destinationIpv6CidrBlock: "::/0", gatewayId: "prod-igw-id" });
        expect(routes).toContainEqual({ routeTableId: "prod-public-id", destinationCidrBlock: "0.0.0.0/0", gatewayId: "prod-igw-id" });
    });

    it("rejects bad input with every problem at once, registering nothing", () => {
        const r = installMocksForValidation();
        expectProblems(() => new PublicVpc("x", { cidrBlock: "8.8.0.0/16", availabilityZoneCount: 7 }), [
            { path: "cidrBlock", rule: /RFC 1918/, value: "8.8.0.0/16" },
            { path: "availabilityZoneCount", rule: /1-6/, value: 7 },
        ], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.0/8", availabilityZoneCount: 0 }), [
            { path: "cidrBlock", rule: /\/16 to \/24/ },
            { path: "availabilityZoneCount", rule: /1-6/, value: 0 },
        ], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.0/25" }), [{ path: "cidrBlock", rule: /\/16 to \/24/ }], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.1/16", ipv6: "yes" as never }), [
            { path: "cidrBlock", rule: /network address/ },
            { path: "ipv6", rule: /true or false/ },
        ], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "fd00::/56" }), [{ path: "cidrBlock", rule: /IPv4 CIDR/ }], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.0/24", availabilityZoneCount: 6, subnetPrefixLength: 26 }), [
            { path: "subnetPrefixLength", rule: /6 subnets of \/26 don't fit in 10.0.0.0\/24: it holds only 4/ },
        ], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.0/16", subnetPrefixLength: 29 }), [{ path: "subnetPrefixLength", rule: /\/28/ }], r);
        expectProblems(() => new PublicVpc("x", { cidrBlock: "10.0.0.0/16", subnetPrefixLength: 15 }), [{ path: "subnetPrefixLength", rule: /VPC's own prefix/ }], r);
        expectProblems(() => new PublicVpc("x", { availabilityZoneCount: 2.5, natGateways: 1 } as never), [
            { path: "availabilityZoneCount", rule: /integer/ },
            { path: "natGateways", rule: /unknown key/ },
        ], r);
        expectProblems(() => new PublicVpc("x", { availabilityZones: ["eu-central-1a", "eu-central-1a", "central"], availabilityZoneCount: 2 }), [
            { path: "availabilityZones[1]", rule: /listed twice/ },
            { path: "availabilityZones[2]", rule: /availability zone name/ },
            { path: "availabilityZoneCount", rule: /must equal the number of availabilityZones \(3\)/ },
        ], r);
        expectProblems(() => new PublicVpc("x", { availabilityZones: [] }), [{ path: "availabilityZones", rule: /1-6 zones/ }], r);
    });

    it("listed zones: no zone lookup, the zone names the subnet, its tag and its block (alphabetical)", async () => {
        const { r, value } = await capture(() => new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZones: ["eu-central-1c", "eu-central-1a"] }), {
            config: { "aws:region": "eu-central-1" },
        });
        expect(r.invokes.filter((i) => i.token.includes("getAvailabilityZones"))).toEqual([]);
        expect(value.subnets.map((s) => [s.key, s.cidrBlock])).toEqual([["eu-central-1a", "10.10.0.0/18"], ["eu-central-1c", "10.10.64.0/18"]]);
        const sn = r.inputs(r.get("aws:ec2/subnet:Subnet", "dev-public-eu-central-1c"));
        expect(sn).toMatchObject({ availabilityZone: "eu-central-1c", cidrBlock: "10.10.64.0/18", tags: { Name: "dev-public-eu-central-1c" } });
    });

    it("fails loudly when the region has fewer zones than asked", () => {
        expect(pickZones(["r-1a", "r-1b", "r-1c"], 2, "x")).toEqual(["r-1a", "r-1b"]);
        expect(() => pickZones(["r-1a", "r-1b"], 3, "x")).toThrow("PublicVpc x: availabilityZoneCount is 3, but the region has only 2 available zones (r-1a, r-1b)");
    });
});
