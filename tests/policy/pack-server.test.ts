// The pack as the Pulumi CLI runs it, minus the CLI (which cannot be installed here): @pulumi/pulumi's policy
// runner (`cmd/run-policy-pack`, resolved from policy/ as the CLI's `pulumi-analyzer-policy` script does)
// compiles and type-checks policy/index.ts with ts-node, starts the analyzer gRPC server and prints its port.
// The test then plays the engine: it sends each resource of the three shipped stacks (inputs, provider) to
// Analyze and each stack (outputs, property dependencies) to AnalyzeStack, as protobuf Structs.

import { ChildProcess, spawn } from "child_process";
import { expect } from "chai";
import { createRequire } from "module";
import * as path from "path";
import { RULE } from "../../policy/rules";
import { RecordedResource } from "../helpers/pulumi-mocks";
import { ROOT } from "../helpers/stack-files";
import {
    editDocument,
    PolicyStack,
    propertyDependencies,
    shippedPolicyStacks,
    ShippedPolicyStacks,
    urnOf,
    withEdit,
    without,
} from "./harness";

// The same module instances @pulumi/policy's server uses (protobuf messages check their classes).
const fromPolicy = createRequire(require.resolve("@pulumi/policy/server"));
const grpc = fromPolicy("@grpc/grpc-js");
const pb = fromPolicy("@pulumi/pulumi/proto/analyzer_pb");
const rpc = fromPolicy("@pulumi/pulumi/proto/analyzer_grpc_pb");
const fromProto = createRequire(fromPolicy.resolve("@pulumi/pulumi/proto/analyzer_pb"));
const { Struct } = fromProto("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromProto("google-protobuf/google/protobuf/empty_pb");

const MANDATORY = 1; // pulumirpc.EnforcementLevel

interface Diagnostic {
    policy: string;
    level: number;
    resource: string;
    message: string;
}

/** JSON-able props (an asset's pending path becomes {}), as a protobuf Struct. */
const struct = (props: Record<string, unknown>) => Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));

function startPack(): Promise<{ child: ChildProcess; port: string }> {
    const runner = createRequire(path.join(ROOT, "policy", "index.ts")).resolve("@pulumi/pulumi/cmd/run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], {
        cwd: path.join(ROOT, "policy"),
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
        child.stdout!.once("data", (d) => resolve({ child, port: String(d).trim() }));
        child.once("exit", (code) => reject(new Error(`policy pack exited (${code}) before serving:\n${stderr}`)));
    });
}

describe("policy pack served by @pulumi/pulumi's policy runner (gRPC, as the engine calls it)", function () {
    this.timeout(60_000);
    let child: ChildProcess | undefined;
    let client: any;
    let stacks: ShippedPolicyStacks;

    const call = (method: string, request: unknown): Promise<any> =>
        new Promise((resolve, reject) => client[method](request, (e: Error | null, v: any) => (e ? reject(e) : resolve(v))));

    const diagnostics = (response: any): Diagnostic[] =>
        response.getDiagnosticsList().map((d: any) => ({
            policy: d.getPolicyname(),
            level: d.getEnforcementlevel(),
            resource: (d.getUrn() || "").split("::").pop(),
            message: d.getMessage(),
        }));

    function providerOf(stack: PolicyStack) {
        const p = stack.resources.find((r) => r.type === "pulumi:providers:aws")!;
        const provider = new pb.AnalyzerProviderResource();
        provider.setType(p.type);
        provider.setName(p.name);
        provider.setUrn(urnOf(stack.name, p));
        provider.setProperties(struct(p.inputs));
        return provider;
    }

    /** Analyze (inputs) for every resource, then AnalyzeStack (outputs): every diagnostic the engine would get. */
    async function analyze(stack: PolicyStack): Promise<Diagnostic[]> {
        const found: Diagnostic[] = [];
        const provider = providerOf(stack);
        for (const r of stack.resources) {
            const request = new pb.AnalyzeRequest();
            request.setType(r.type);
            request.setName(r.name);
            request.setUrn(urnOf(stack.name, r));
            request.setProperties(struct(r.inputs));
            request.setOptions(new pb.AnalyzerResourceOptions());
            if (r.type.startsWith("aws:")) request.setProvider(provider);
            found.push(...diagnostics(await call("analyze", request)).map((d) => ({ ...d, resource: r.name })));
        }
        const request = new pb.AnalyzeStackRequest();
        request.setResourcesList(
            stack.resources.map((r: RecordedResource) => {
                const resource = new pb.AnalyzerResource();
                resource.setType(r.type);
                resource.setName(r.name);
                resource.setUrn(urnOf(stack.name, r));
                resource.setProperties(struct({ ...r.state, id: r.id }));
                resource.setOptions(new pb.AnalyzerResourceOptions());
                if (r.type.startsWith("aws:")) resource.setProvider(provider);
                for (const [key, urns] of Object.entries(propertyDependencies(stack, r))) {
                    const deps = new pb.AnalyzerPropertyDependencies();
                    deps.setUrnsList(urns);
                    resource.getPropertydependenciesMap().set(key, deps);
                }
                return resource;
            }),
        );
        found.push(...diagnostics(await call("analyzeStack", request)));
        return found;
    }

    before(async () => {
        const [pack, shipped] = await Promise.all([startPack(), shippedPolicyStacks()]);
        child = pack.child;
        stacks = shipped;
        client = new rpc.AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    it("serves the pack's 12 rules, all mandatory", async () => {
        const info = await call("getAnalyzerInfo", new Empty());
        expect(info.getName()).to.equal("serverless-cross-account-cicd");
        expect(info.getVersion()).to.equal("0.1.0");
        const levels = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
        expect(levels).to.have.length(12);
        expect(levels.map(([name]: [string]) => name)).to.include(RULE.functionRoleTrust);
        expect(levels.every(([, level]: [string, number]) => level === MANDATORY)).to.equal(true);
    });

    for (const name of ["target", "tools", "api", "targetForPulumi"] as const) {
        it(`${name} stack: no diagnostic`, async () => {
            expect(await analyze(stacks[name])).to.deep.equal([]);
        });
    }

    it("reports a broken trust policy (Analyze) and a bucket missing a control (AnalyzeStack) as mandatory", async () => {
        let broken = withEdit(stacks.target, "aws:iam/role:Role", "-deploy-role", (p) =>
            editDocument(p, "assumeRolePolicy", (d) => delete d.Statement[0].Condition),
        );
        broken = without(broken, "aws:s3/bucketVersioning:BucketVersioning", "-deployment-bucket-versioning");
        const found = await analyze(broken);
        expect(found.map((d) => [d.policy, d.level, d.resource])).to.deep.equal([
            [RULE.trustPinned, MANDATORY, "cross-account-deploy-role"],
            [RULE.s3Hardened, MANDATORY, "cross-account-deployment-bucket"],
        ]);
    });

    it("reports a function role (under the boundary) trusting more than Lambda as mandatory", async () => {
        const broken = withEdit(stacks.api, "aws:iam/role:Role", "-function-role", (p) =>
            editDocument(p, "assumeRolePolicy", (d) => (d.Statement[0].Principal = { Service: "codebuild.amazonaws.com" })),
        );
        const found = await analyze(broken);
        expect(found.map((d) => [d.policy, d.level, d.resource])).to.deep.equal([
            [RULE.functionRoleTrust, MANDATORY, "product-api-function-role"],
        ]);
        expect(found[0].message).to.include("Service:codebuild.amazonaws.com");
    });

    it("turns a value unknown in a preview into an advisory 'can't run during preview'", async () => {
        const request = new pb.AnalyzeRequest();
        request.setType("aws:iam/rolePolicy:RolePolicy");
        request.setName("p");
        request.setUrn("urn:pulumi:s::p::aws:iam/rolePolicy:RolePolicy::p");
        // the engine's sentinel for an unknown string
        request.setProperties(struct({ policy: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }));
        request.setOptions(new pb.AnalyzerResourceOptions());
        const [d, ...rest] = diagnostics(await call("analyze", request));
        expect(rest).to.deep.equal([]);
        expect(d.policy).to.equal(RULE.noWildcardAdmin);
        expect(d.level).to.not.equal(MANDATORY);
        expect(d.message).to.include("during preview");
    });
});
