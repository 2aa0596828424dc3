// The policy pack's rules applied to a CloudFormation template — the one `sls package` writes for the product
// API (.serverless/cloudformation-template-update-stack.json), which the pipeline deploys without Pulumi.
//
// Same rule ids and the same checks as rules.ts: CloudFormation properties are mapped onto the normalized shapes
// the Pulumi rules use (policy documents, KeyFacts, TableFacts, BucketFacts, ...). Intrinsic functions are read
// as text (`{"Fn::GetAtt": ["T", "Arn"]}` → "${T.Arn}"), so an ARN built from them is never mistaken for "*".
//
//   import { validateTemplate } from "./policy/cfn-rules";
//   const violations = validateTemplate(JSON.parse(fs.readFileSync(".serverless/cloudformation-template-update-stack.json", "utf8")));

import {
    ALLOWED_RUNTIMES,
    functionRoleTrustProblems,
    RetentionFacts,
    tableRetentionProblems,
    asList,
    BucketFacts,
    bucketProblems,
    BuildProjectFacts,
    buildLogsProblems,
    deletionProtectionProblems,
    DocumentRef,
    FunctionFacts,
    Json,
    keyProblems,
    KeyFacts,
    LogGroupFacts,
    PipelineFacts,
    pipelineProblems,
    pitrProblems,
    privilegedModeProblems,
    renderValue,
    retentionProblems,
    RULE,
    runtimeProblems,
    statementProblems,
    TableFacts,
    trustProblems,
} from "./rules";

export interface CfnResource {
    readonly Type: string;
    readonly Properties?: Record<string, Json>;
    readonly DeletionPolicy?: string;
    readonly UpdateReplacePolicy?: string;
}
export interface CfnTemplateLike {
    readonly Resources: Record<string, CfnResource>;
}

export interface CfnViolation {
    /** Rule id, the same as the Pulumi policy's name. */
    readonly policy: string;
    /** Logical ID of the offending resource. */
    readonly logicalId: string;
    readonly message: string;
}

export interface CfnCheckOptions {
    /** Lambda runtimes allowed (default: rules.ts ALLOWED_RUNTIMES). */
    readonly allowedRuntimes?: readonly string[];
    /**
     * Accounts whose root a key policy may name in the AWS default key statement; "${AWS::AccountId}" (the
     * stack's own account, however the template spells it) is always included.
     */
    readonly ownAccounts?: readonly string[];
}

/** Every policy document a CloudFormation resource carries. */
export function cfnPolicyDocuments(type: string, p: Record<string, Json>): DocumentRef[] {
    const one = (kind: DocumentRef["kind"], key: string) => (p[key] === undefined ? [] : [{ kind, path: key, document: p[key] }]);
    switch (type) {
        case "AWS::IAM::Role":
            return [
                ...one("trust", "AssumeRolePolicyDocument"),
                ...asList(p.Policies).map((policy: Json, i: number) => ({
                    kind: "identity" as const,
                    path: `Policies[${i}].PolicyDocument`,
                    document: policy?.PolicyDocument,
                })),
            ];
        case "AWS::IAM::Policy":
        case "AWS::IAM::ManagedPolicy":
        case "AWS::IAM::RolePolicy":
        case "AWS::IAM::UserPolicy":
        case "AWS::IAM::GroupPolicy":
            return one("identity", "PolicyDocument");
        case "AWS::S3::BucketPolicy":
            return one("bucket", "PolicyDocument");
        case "AWS::KMS::Key":
            return one("key", "KeyPolicy");
        case "AWS::SNS::TopicPolicy":
            return one("topic", "PolicyDocument");
        case "AWS::SQS::QueuePolicy":
            return one("queue", "PolicyDocument");
        default:
            return [];
    }
}

/** A single-resource rule over CloudFormation: the types it maps to facts (from the properties, or the whole resource), and the shared check. */
interface CfnRule<T> {
    readonly id: string;
    readonly facts: Record<string, (p: Record<string, Json>, resource: CfnResource) => T>;
    readonly check: (facts: T, type: string, options: Required<CfnCheckOptions>) => string[];
}
const rule = <T>(r: CfnRule<T>): CfnRule<any> => r;

const projectFacts = (p: Record<string, Json>): BuildProjectFacts => ({
    privilegedMode: p.Environment?.PrivilegedMode,
    cloudWatchLogsDeclared: p.LogsConfig?.CloudWatchLogs !== undefined,
    cloudWatchLogsStatus: p.LogsConfig?.CloudWatchLogs?.Status,
});
const tableFacts = (p: Record<string, Json>): TableFacts => ({
    pointInTimeRecovery: p.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled,
    deletionProtection: p.DeletionProtectionEnabled,
});
const identity = (p: Record<string, Json>) => p;
const IAM_CFN_TYPES = [
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::KMS::Key",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

export const CFN_RULES: readonly CfnRule<any>[] = [
    rule({
        id: RULE.noWildcardAdmin,
        facts: Object.fromEntries(IAM_CFN_TYPES.map((t) => [t, identity])),
        check: (p, type, o) => cfnPolicyDocuments(type, p).flatMap((ref) => statementProblems(ref, { ownAccounts: o.ownAccounts })),
    }),
    rule({
        id: RULE.trustPinned,
        facts: { "AWS::IAM::Role": identity },
        check: (p, type) =>
            cfnPolicyDocuments(type, p)
                .filter((ref) => ref.kind === "trust")
                .flatMap(trustProblems),
    }),
    rule({
        id: RULE.kmsRotation,
        facts: { "AWS::KMS::Key": (p): KeyFacts => ({ rotation: p.EnableKeyRotation, spec: p.KeySpec, origin: p.Origin }) },
        check: keyProblems,
    }),
    rule({ id: RULE.codebuildPrivileged, facts: { "AWS::CodeBuild::Project": projectFacts }, check: privilegedModeProblems }),
    rule({ id: RULE.codebuildLogs, facts: { "AWS::CodeBuild::Project": projectFacts }, check: buildLogsProblems }),
    rule({
        id: RULE.pipelineEncrypted,
        facts: {
            "AWS::CodePipeline::Pipeline": (p): PipelineFacts => ({
                artifactStores: [...asList(p.ArtifactStore), ...asList(p.ArtifactStores).map((s: Json) => s?.ArtifactStore)].map(
                    (s: Json) => ({
                        location: renderValue(s?.Location),
                        encryptionKeyId: s?.EncryptionKey?.Id === undefined ? undefined : renderValue(s.EncryptionKey.Id),
                    }),
                ),
            }),
        },
        check: pipelineProblems,
    }),
    rule({ id: RULE.dynamodbPitr, facts: { "AWS::DynamoDB::Table": tableFacts }, check: pitrProblems }),
    rule({ id: RULE.dynamodbDeletionProtection, facts: { "AWS::DynamoDB::Table": tableFacts }, check: deletionProtectionProblems }),
    rule({
        id: RULE.lambdaRuntime,
        facts: { "AWS::Lambda::Function": (p): FunctionFacts => ({ runtime: p.Runtime, packageType: p.PackageType }) },
        check: (fn, _type, o) => runtimeProblems(fn, o.allowedRuntimes),
    }),
    rule({
        id: RULE.logRetention,
        facts: { "AWS::Logs::LogGroup": (p): LogGroupFacts => ({ retentionInDays: p.RetentionInDays }) },
        check: retentionProblems,
    }),
    rule({
        id: RULE.functionRoleTrust,
        facts: { "AWS::IAM::Role": identity },
        check: (p, type) =>
            p.PermissionsBoundary === undefined
                ? []
                : cfnPolicyDocuments(type, p)
                      .filter((ref) => ref.kind === "trust")
                      .flatMap(functionRoleTrustProblems),
    }),
    rule({
        id: RULE.tableRetained,
        facts: {
            "AWS::DynamoDB::Table": (_p, r): RetentionFacts => ({
                deletionPolicy: r.DeletionPolicy,
                updateReplacePolicy: r.UpdateReplacePolicy,
            }),
        },
        check: tableRetentionProblems,
    }),
];

/** Refers to a resource of the template: `{Ref: X}`, `{"Fn::GetAtt": [X, ...]}`, or its literal bucket name. */
function referencedLogicalId(value: Json, bucketNames: Map<string, string>): string | undefined {
    if (value && typeof value === "object") {
        if (typeof value.Ref === "string") return value.Ref;
        const getAtt = value["Fn::GetAtt"];
        if (Array.isArray(getAtt)) return String(getAtt[0]);
        if (typeof getAtt === "string") return getAtt.split(".")[0];
    }
    return typeof value === "string" ? bucketNames.get(value) : undefined;
}

/** Rule 3 over a template: each AWS::S3::Bucket with its inline settings and the bucket policies naming it. */
export function cfnBucketFacts(template: CfnTemplateLike): Map<string, BucketFacts> {
    const resources = Object.entries(template.Resources ?? {});
    const bucketNames = new Map<string, string>();
    for (const [id, r] of resources) {
        if (r.Type === "AWS::S3::Bucket" && typeof r.Properties?.BucketName === "string") bucketNames.set(r.Properties.BucketName, id);
    }
    const policies = new Map<string, Json[]>();
    for (const [, r] of resources) {
        if (r.Type !== "AWS::S3::BucketPolicy") continue;
        const target = referencedLogicalId(r.Properties?.Bucket, bucketNames);
        if (target) policies.set(target, [...(policies.get(target) ?? []), r.Properties?.PolicyDocument]);
    }
    const facts = new Map<string, BucketFacts>();
    for (const [id, r] of resources) {
        if (r.Type !== "AWS::S3::Bucket") continue;
        const p = r.Properties ?? {};
        const sse = asList(p.BucketEncryption?.ServerSideEncryptionConfiguration);
        const pab = p.PublicAccessBlockConfiguration;
        facts.set(id, {
            name: typeof p.BucketName === "string" ? p.BucketName : id,
            arn: `\${${id}.Arn}`,
            hasEncryptionConfig: sse.length > 0,
            sseAlgorithms: sse.map((rule: Json) => rule?.ServerSideEncryptionByDefault?.SSEAlgorithm),
            versioningStatus: p.VersioningConfiguration?.Status,
            publicAccessBlock: pab
                ? {
                      blockPublicAcls: pab.BlockPublicAcls,
                      blockPublicPolicy: pab.BlockPublicPolicy,
                      ignorePublicAcls: pab.IgnorePublicAcls,
                      restrictPublicBuckets: pab.RestrictPublicBuckets,
                  }
                : undefined,
            policies: policies.get(id) ?? [],
        });
    }
    return facts;
}

/** Every violation of the pack's rules in a CloudFormation template. */
export function validateTemplate(template: CfnTemplateLike, options: CfnCheckOptions = {}): CfnViolation[] {
    const resolved: Required<CfnCheckOptions> = {
        allowedRuntimes: options.allowedRuntimes ?? ALLOWED_RUNTIMES,
        ownAccounts: ["${AWS::AccountId}", ...(options.ownAccounts ?? [])],
    };
    const violations: CfnViolation[] = [];
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
        for (const r of CFN_RULES) {
            const toFacts = r.facts[resource.Type];
            if (!toFacts) continue;
            for (const message of r.check(toFacts(resource.Properties ?? {}, resource), resource.Type, resolved)) {
                violations.push({ policy: r.id, logicalId, message });
            }
        }
    }
    for (const [logicalId, facts] of cfnBucketFacts(template)) {
        for (const message of bucketProblems(facts)) violations.push({ policy: RULE.s3Hardened, logicalId, message });
    }
    return violations;
}
